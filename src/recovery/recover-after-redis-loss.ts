import type { RedisClient } from '../redis/connection.js';
import type { EngineContext } from '../engine/context/engine-context.js';
import { splitRepo } from '../engine/context/engine-context.js';
import { isRunId } from '../runs/run-id.js';
import type { RunKeys } from '../runs/run-keys.js';
import { cancelCheckRun, closeOpenDeployments } from './close-open-work.js';
import { observeGithub } from './observe-github.js';
import { lostDeploymentDescription, lostRunExplanation, planLostRuns } from './plan-recovery.js';
import { readLiveEntries, recentEnvCommits } from './read-env-repo.js';
import type { LostRun } from './types.js';
import type { LiveSnapshot } from './live-snapshot.js';

/** Env-repo commits whose `Source-Commit` is asked about. @defaultValue 200 */
export const RECENT_ENV_COMMITS = 200;

/**
 * The first Shipgate start on a Redis claims it. False when this Redis was already claimed:
 * an ordinary restart, not a lost Redis (or a first install), so there is nothing to recover.
 */
export async function claimRedisEpoch(redis: RedisClient, keys: RunKeys, now: Date): Promise<boolean> {
  return (await redis.set(keys.recoveryEpoch(), now.toISOString(), 'NX')) === 'OK';
}

/** Rebuilds "what is live" per app and environment from the env repo and keeps it in Redis. */
export async function rebuildLiveState(
  ctx: EngineContext,
  redis: RedisClient,
  keys: RunKeys,
): Promise<LiveSnapshot> {
  const { policy, commit } = await ctx.policy.current();
  const snapshot: LiveSnapshot = {
    rebuiltAt: ctx.now().toISOString(),
    envCommit: commit,
    entries: await readLiveEntries(ctx.envRepo, policy),
  };
  await redis.set(keys.liveState(), JSON.stringify(snapshot));
  return snapshot;
}

export interface RecoveryReport {
  /** Runs found in flight with no record in the run store. */
  lost: LostRun[];
  /** Of those, the ones reported now (completed on GitHub); the others were reported before. */
  reported: string[];
}

/**
 * Reports, once, the runs that were in flight when Redis was lost: their open check runs are
 * completed as `cancelled` and their pending deployments as `error`, each with the explanation.
 * The ledger (`recovery:reported`) is claimed per run before GitHub is touched, so two workers or
 * a restart never report one run twice; a claim whose report failed is dropped, so a retry
 * reports it.
 */
export async function reportLostRuns(
  ctx: EngineContext,
  redis: RedisClient,
  keys: RunKeys,
): Promise<RecoveryReport> {
  const { policy } = await ctx.policy.current();
  const recent = await recentEnvCommits(ctx.envRepo, RECENT_ENV_COMMITS);
  const repos = new Set(Object.keys(policy.repos.grants));
  for (const c of recent) if (c.sourceRepo !== undefined && c.run !== undefined) repos.add(c.sourceRepo);
  const observed = await observeGithub(ctx.github, [...repos].sort(), recent, ctx.logger);

  const mentioned = new Set<string>();
  for (const c of observed.checks) {
    const runId = c.externalId?.split('/')[0];
    if (runId !== undefined && isRunId(runId)) mentioned.add(runId);
  }
  for (const d of observed.deployments) if (d.runId !== undefined) mentioned.add(d.runId);
  const knownRunIds = new Set<string>();
  for (const runId of mentioned) if ((await ctx.runs.getRun(runId)) !== undefined) knownRunIds.add(runId);

  const lost = planLostRuns({ ...observed, knownRunIds });
  const reported: string[] = [];
  for (const run of lost) {
    const first = await redis.hsetnx(keys.recoveryReported(), run.runId, ctx.now().toISOString());
    if (first === 0) continue;
    try {
      await reportOne(ctx, run);
      reported.push(run.runId);
      ctx.logger.warn(
        { runId: run.runId, repo: run.repo, checks: run.checks.length, deployments: run.deployments.length },
        'run lost with Redis: reported on GitHub',
      );
    } catch (err) {
      await redis.hdel(keys.recoveryReported(), run.runId);
      throw err;
    }
  }
  return { lost, reported };
}

async function reportOne(ctx: EngineContext, run: LostRun): Promise<void> {
  const octokit = await ctx.github.forInstallation(run.installationId);
  const explanation = lostRunExplanation(run.runId);
  const target = splitRepo(run.repo);
  for (const check of run.checks) {
    await cancelCheckRun(
      octokit,
      { ...target, checkRunId: check.id },
      'Lost: Shipgate lost this run',
      explanation,
    );
  }
  if (run.deployments.length > 0) {
    await closeOpenDeployments(
      octokit,
      { ...target, sha: run.sha },
      (id) => id === run.runId,
      lostDeploymentDescription(run.runId),
    );
  }
}
