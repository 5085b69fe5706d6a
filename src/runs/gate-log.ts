/**
 * The end of a gate's output, kept with the run so the console can show why a gate failed
 * without sending anyone to the CI logs. It is stored beside the run record (a step result,
 * with the run's TTL), not in it: the record's `gates` summary is capped at 16 KiB for all gates
 * together and travels with every run event, and a tail is read only on the run's page.
 *
 * The text is gate output: code Shipgate does not trust wrote it. The writer masks it with the
 * same masker as check-run output before it gets here; these functions only bound it.
 */

/** Bounds of one stored tail. @defaultValue 100 lines, 16 KiB of UTF-8 */
export const GATE_LOG_LIMITS = { lines: 100, bytes: 16 * 1024 } as const;

/** The step-result key a gate's tail is stored under (one per check key: the last attempt wins). */
export function gateLogStepKey(key: string): string {
  return `gate-log:${key}`;
}

/** One stored tail. */
export interface GateLog {
  /** The last lines of the output, at most `GATE_LOG_LIMITS`. */
  tail: string;
  /** Whether earlier output was left out (by the executor's own bound or by these limits). */
  truncated: boolean;
  /** How many bytes the command wrote in all, when the executor counted them. */
  bytes?: number;
  at: string;
}

/**
 * The last `limits.lines` lines and `limits.bytes` bytes of `text`, without terminal escapes
 * or control characters. When anything before was cut (`cutBefore`, or these limits), the first
 * line kept starts a line: a line cut in the middle could end with the first half of a secret
 * that the masker, seeing only half, would not recognise.
 */
export function boundedLogTail(
  text: string,
  cutBefore: boolean,
  limits: { lines: number; bytes: number } = GATE_LOG_LIMITS,
): { tail: string; truncated: boolean } {
  const clean = text
    .replace(/\r\n?/g, '\n')
    // Colour and cursor codes are noise outside a terminal.
    // eslint-disable-next-line no-control-regex
    .replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
  let lines = clean.replace(/\n$/, '').split('\n');
  let truncated = cutBefore;
  if (cutBefore && lines.length > 1) lines = lines.slice(1);
  if (lines.length > limits.lines) {
    lines = lines.slice(-limits.lines);
    truncated = true;
  }
  let tail = lines.join('\n');
  while (Buffer.byteLength(tail) > limits.bytes && lines.length > 1) {
    lines = lines.slice(1);
    tail = lines.join('\n');
    truncated = true;
  }
  if (Buffer.byteLength(tail) > limits.bytes) {
    // One line longer than the whole budget: keep its end, on a character boundary.
    tail = Buffer.from(tail)
      .subarray(-limits.bytes)
      .toString('utf8')
      .replace(/^\uFFFD+/, '');
    truncated = true;
  }
  return { tail, truncated };
}
