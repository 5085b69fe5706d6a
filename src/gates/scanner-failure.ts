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
