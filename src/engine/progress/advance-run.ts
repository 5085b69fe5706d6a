import type { Run } from '../../runs/run-types.js';
import type { CheckKey } from '../decisions/check-names.js';
import type { EngineContext } from '../context/engine-context.js';
import type { GatesField } from './record-gate-result.js';
import { enqueueStage } from '../context/stage-jobs.js';

const EXPECTED_STEP = 'expected-gates';
const ENVIRONMENTS_STEP = 'environments';

export async function setExpectedGates(
  ctx: EngineContext,
  runId: string,
  keys: readonly CheckKey[],
): Promise<void> {
  await ctx.runs.recordStepResult(runId, EXPECTED_STEP, keys);
}

export async function setReleaseEnvironments(
  ctx: EngineContext,
  runId: string,
  envs: readonly string[],
): Promise<void> {
  await ctx.runs.recordStepResult(runId, ENVIRONMENTS_STEP, envs);
}

export async function releaseEnvironments(ctx: EngineContext, runId: string): Promise<string[]> {
  return (await ctx.runs.getStepResult<string[]>(runId, ENVIRONMENTS_STEP)) ?? [];
}

export type GatesVerdict = { done: false } | { done: true; passed: boolean; failed: CheckKey[] };

/** Pure: have all expected gates reported, and did they pass? Neutral counts as passing. */
export function gatesVerdict(expected: readonly CheckKey[], gates: GatesField): GatesVerdict {
  if (!expected.every((key) => gates[key] !== undefined)) return { done: false };
  const failed = expected.filter((key) => {
    const conclusion = gates[key]!.conclusion;
    return conclusion === 'failure' || conclusion === 'cancelled';
  });
  return { done: true, passed: failed.length === 0, failed };
}

/**
 * Moves a gating run on once its last gate has reported. Every gate job calls this after
 * recording its outcome; the compare-and-set transition lets exactly one of them act.
 */
export async function advanceGatingRun(ctx: EngineContext, runId: string): Promise<Run> {
  const run = await ctx.runs.requireRun(runId);
  if (run.state !== 'gating') return run;
  const expected = (await ctx.runs.getStepResult<CheckKey[]>(runId, EXPECTED_STEP)) ?? [];
  const verdict = gatesVerdict(expected, (run.gates ?? {}) as GatesField);
  if (!verdict.done) return run;

  if (!verdict.passed) {
    const moved = await ctx.runs.transition(runId, {
      from: 'gating',
      to: 'failed',
      reason: `gates failed: ${verdict.failed.join(', ')}`,
      eventKey: `${runId}:gates-verdict`,
    });
    return moved.run ?? run;
  }
  if (run.kind === 'pr') {
    const moved = await ctx.runs.transition(runId, {
      from: 'gating',
      to: 'succeeded',
      eventKey: `${runId}:gates-verdict`,
    });
    return moved.run ?? run;
  }
  const [firstEnv] = await releaseEnvironments(ctx, runId);
  if (firstEnv === undefined) {
    const moved = await ctx.runs.transition(runId, {
      from: 'gating',
      to: 'failed',
      reason: 'the platform policy grants this repo no environment',
      eventKey: `${runId}:gates-verdict`,
    });
    return moved.run ?? run;
  }
  const moved = await ctx.runs.transition(runId, {
    from: 'gating',
    to: 'deploying',
    env: firstEnv,
    eventKey: `${runId}:gates-verdict`,
  });
  // Enqueue even on a replayed transition: the deterministic job id makes it a no-op when the
  // first attempt already enqueued, and recovers when it crashed in between.
  if (moved.ok) await enqueueStage(ctx.queues, { stage: 'deploy', runId, env: firstEnv });
  return moved.run ?? run;
}
