import type { SerializedError } from 'vitest';
import type { Reporter, TestModule, TestRunEndReason } from 'vitest/node';

/**
 * Prints one plain closing line, e.g. `612 passed, 0 failed, 3 skipped`, after the default
 * reporter's summary, so CI can read the result without parsing coloured output.
 *
 * A file that fails to load (or a hook that fails) collects no failing test case, and an
 * unhandled error fails the run without one either; each is counted as one failure so the
 * line never reads `0 failed` for a run that vitest itself reports as failed.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
    reason: TestRunEndReason,
  ): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const testModule of testModules) {
      let failedHere = 0;
      for (const test of testModule.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failedHere += 1;
        // 'pending' means the run stopped before the test ran: it did not pass.
        else if (state === 'pending' && reason !== 'passed') failedHere += 1;
        else skipped += 1;
      }
      if (failedHere === 0 && testModule.state() === 'failed') failedHere = 1;
      failed += failedHere;
    }
    failed += unhandledErrors.length;
    const parts = [`${passed} passed`, `${failed} failed`];
    if (skipped > 0) parts.push(`${skipped} skipped`);
    process.stdout.write(`\n${parts.join(', ')}\n`);
  }
}
