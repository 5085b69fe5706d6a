import type { DeployRecord, DoraFigures } from './types.js';

const DAY_MS = 86_400_000;

/**
 * The four DORA measures of one app and environment over `[from, to)`, from its deploy
 * history (pure: the same history always gives the same figures).
 *
 * - Deployment frequency: successful release deploys in the window, per day.
 * - Lead time for changes: from the first commit of a release to that release live; median.
 * - Change failure rate: release deploys that failed, over all release deploys in the window.
 *   A deploy fails when Shipgate rolled it back (a gate failed), or when a manual rollback run
 *   replaced it while it was the live release.
 * - Time to restore: from the failure to the next successful deploy of the environment (a
 *   release or a rollback run); median. For a manual rollback, the failure starts when the bad
 *   release went live; for an automatic one, when the failed deploy ended.
 *
 * Failures and restores are counted in the window in which the failure happened.
 */
export function computeDora(
  history: readonly DeployRecord[],
  app: string,
  env: string,
  from: Date,
  to: Date,
): DoraFigures {
  const records = history
    .filter((r) => r.app === app && r.env === env)
    .slice()
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.runId.localeCompare(b.runId));
  const inWindow = (ms: number) => ms >= from.getTime() && ms < to.getTime();

  // Walk the history in order: what is live, which releases failed, when each failure began.
  const failedReleases = new Set<string>();
  const restores: number[] = [];
  let live: DeployRecord | undefined;
  let pendingFailure: number | undefined;
  for (const r of records) {
    const at = Date.parse(r.at);
    if (r.outcome === 'rolled-back') {
      pendingFailure ??= at;
      if (r.runKind === 'release') failedReleases.add(r.runId);
      continue;
    }
    if (r.runKind === 'rollback' && live?.runKind === 'release') {
      const wentLive = Date.parse(live.at);
      failedReleases.add(live.runId);
      pendingFailure = Math.min(pendingFailure ?? wentLive, wentLive);
    }
    if (pendingFailure !== undefined) {
      if (inWindow(pendingFailure)) restores.push((at - pendingFailure) / 1000);
      pendingFailure = undefined;
    }
    live = r;
  }

  const releases = records.filter((r) => r.runKind === 'release' && inWindow(Date.parse(r.at)));
  const succeeded = releases.filter((r) => r.outcome === 'succeeded');
  const failed = releases.filter((r) => failedReleases.has(r.runId)).length;
  const leadTimes = succeeded
    .filter((r) => r.firstCommitAt !== undefined)
    .map((r) => (Date.parse(r.at) - Date.parse(r.firstCommitAt!)) / 1000);
  const windowDays = (to.getTime() - from.getTime()) / DAY_MS;
  return {
    app,
    env,
    from: from.toISOString(),
    to: to.toISOString(),
    windowDays,
    deployments: succeeded.length,
    deploymentFrequencyPerDay: windowDays > 0 ? succeeded.length / windowDays : 0,
    leadTimeSeconds: { median: median(leadTimes), count: leadTimes.length, values: leadTimes },
    changeFailureRate: releases.length > 0 ? failed / releases.length : null,
    failedDeployments: failed,
    totalDeployments: releases.length,
    timeToRestoreSeconds: { median: median(restores), count: restores.length, values: restores },
  };
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `30d`, `12h`, `90m`, or a number of days: the window length in ms (1 minute to 400 days). */
export function parseWindow(text: string): number | undefined {
  const m = /^(\d{1,6})([dhm]?)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const ms = n * (m[2] === 'h' ? 3_600_000 : m[2] === 'm' ? 60_000 : DAY_MS);
  return ms >= 60_000 && ms <= 400 * DAY_MS ? ms : undefined;
}
