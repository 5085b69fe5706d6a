import type { ExecutionResult } from '../executors/executor.js';
import { codeBlock, logTail } from './markdown.js';
import type { GateName, GateResult, ScannerFailureOptions } from './types.js';

export type ScannerProblem = 'missing' | 'crashed' | 'timed-out';

/** Recognises a scanner that never ran: local ENOENT (127) or a container without the binary. */
export function scannerMissing(result: ExecutionResult): boolean {
  return (
    result.exitCode === 127 ||
    /executable file not found|command not found|no such file or directory.*exec/i.test(
      result.logTail.slice(-2000),
    )
  );
}

/**
 * The fail-closed result for a scanner that could not give an answer. A missing report is never
 * read as "no findings": `onScannerMissing: 'neutral'` is the only way to let it pass.
 */
export function scannerFailureResult(
  gate: GateName,
  scanner: string,
  problem: ScannerProblem,
  detail: string,
  result: ExecutionResult | undefined,
  options: ScannerFailureOptions,
): GateResult {
  const neutral = options.onScannerMissing === 'neutral';
  const what = {
    missing: `${scanner} is not installed`,
    crashed: `${scanner} did not produce a valid report`,
    'timed-out': `${scanner} timed out`,
  }[problem];
  const lines = [
    `**${what}.** ${detail}`,
    '',
    neutral
      ? `This gate is configured with \`onScannerMissing: neutral\`, so the check is neutral instead of failed. **Nothing was scanned.**`
      : `Shipgate fails closed: without a scan there is no evidence that the change is safe. ` +
        `Fix the scanner, or set \`onScannerMissing: neutral\` for this gate to accept unscanned changes.`,
  ];
  if (result && result.logTail.trim() !== '') {
    lines.push(
      '',
      `<details><summary>Last output of ${scanner}</summary>`,
      '',
      codeBlock(logTail(result.logTail, 40)),
      '',
      '</details>',
    );
  }
  return {
    gate,
    conclusion: neutral ? 'neutral' : 'failure',
    title: neutral ? `${what} (neutral by configuration)` : what,
    summary: lines.join('\n'),
    annotations: [],
    counts: {},
  };
}

/** How a scanner's run is judged before its report is read. */
export interface ScannerRunSpec {
  gate: 'trivy' | 'zap';
  /** Name shown in the check run (`Trivy`). */
  scanner: string;
  /** The command as the user knows it (`trivy`, `zap-baseline.py`). */
  command: string;
  /** Who exits with a status, in messages (`Trivy`, `zap-baseline.py`). */
  process: string;
  /** Name of the report in `ExecutionResult.reports`, and the file it was read from. */
  report: { name: string; file: string };
  /** Exit statuses that still mean "the scan ran" (ZAP exits 1 and 2 on warnings and failures). */
  okExitCodes: readonly number[];
  timeoutSeconds: number;
}

/**
 * The report a scanner wrote, or the gate result when there is none to trust: cancelled, timed
 * out, missing, crashed (an unexpected status) or no report. Parsing stays with each gate.
 */
export function scannerReport(
  result: ExecutionResult,
  spec: ScannerRunSpec,
  options: ScannerFailureOptions,
): { text: string } | { done: GateResult } {
  const fail = (problem: ScannerProblem, detail: string) => ({
    done: scannerFailureResult(spec.gate, spec.scanner, problem, detail, result, options),
  });
  if (result.cancelled) return { done: cancelledResult(spec.gate) };
  if (result.timedOut) return fail('timed-out', `No result after ${spec.timeoutSeconds}s.`);
  if (scannerMissing(result)) {
    return fail(
      'missing',
      `\`${spec.command}\` was not found (on PATH for the local executor, in the scanner image on Kubernetes).`,
    );
  }
  if (!spec.okExitCodes.includes(result.exitCode)) {
    return fail('crashed', `${spec.process} exited with status ${result.exitCode}.`);
  }
  const text = result.reports[spec.report.name];
  if (text === undefined) {
    return fail(
      'crashed',
      result.reportProblems[spec.report.name] ?? `${spec.process} wrote no ${spec.report.file}.`,
    );
  }
  return { text };
}

export function cancelledResult(gate: GateName): GateResult {
  return {
    gate,
    conclusion: 'neutral',
    title: 'Cancelled',
    summary: 'The run was cancelled (for example, superseded by a newer push) before this gate finished.',
    annotations: [],
    cancelled: true,
  };
}
