import type { Run, RunEvent } from '../runs/run-types.js';

/** "3m ago" style age of an ISO time, for terminal listings. */
export function age(iso: string, now = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86_400)}d ago`;
}

/** What a run is about: its tag, its pull request, or its short sha. */
export function subject(run: Run): string {
  if (run.tag !== undefined) return run.tag;
  if (run.prNumber !== undefined) return `PR #${run.prNumber}`;
  return run.sha.slice(0, 12);
}

/** Rows of text in aligned columns. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function runsTable(runs: readonly Run[], now = Date.now()): string {
  return table([
    ['RUN', 'KIND', 'REPO', 'WHAT', 'STATE', 'ENV', 'UPDATED'],
    ...runs.map((r) => [
      r.id,
      r.kind,
      r.repo,
      subject(r),
      r.state,
      r.currentEnv ?? '-',
      age(r.updatedAt, now),
    ]),
  ]);
}

export function runHeader(run: Run): string {
  const where = run.currentEnv ? ` (${run.currentEnv})` : '';
  return [
    `Run ${run.id}: ${run.kind} of ${run.repo} ${subject(run)} by ${run.releaser}`,
    `State: ${run.state}${where}${run.reason ? `: ${run.reason}` : ''}`,
  ].join('\n');
}

export function eventLine(event: RunEvent): string {
  return `${event.at.slice(11, 19)}  ${event.type.padEnd(18)} ${event.message}`;
}
