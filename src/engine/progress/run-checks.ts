import {
  completeCheckRun,
  ensureCheckRun,
  type CheckAnnotation,
  type CheckConclusion,
} from '../../github/index.js';
import { createOncePerRun } from '../../runs/create-once-per-run.js';
import type { Run } from '../../runs/run-types.js';
import { CHECK_NAMES, checkExternalId, type CheckKey } from '../decisions/check-names.js';
import { splitRepo, type EngineContext } from '../context/engine-context.js';

const CHECKS_STEP = 'checks';

export type RunChecks = Partial<Record<CheckKey, number>>;

/**
 * Creates (idempotently: found by name, external id and sha) the run's check runs and
 * remembers their ids with the run, so later stages and cancellation can find them.
 */
export async function ensureRunChecks(
  ctx: EngineContext,
  run: Run,
  keys: readonly CheckKey[],
): Promise<RunChecks> {
  const octokit = await ctx.github.forInstallation(run.installationId);
  const known = (await ctx.runs.getStepResult<RunChecks>(run.id, CHECKS_STEP)) ?? {};
  for (const key of keys) {
    if (known[key] !== undefined) continue;
    // Once per run even when the same stage runs in two processes at once (see createOncePerRun).
    const { id } = await createOncePerRun(ctx.runs, run.id, `check:${key}`, () =>
      ensureCheckRun(octokit, {
        ...splitRepo(run.repo),
        name: CHECK_NAMES[key],
        headSha: run.sha,
        externalId: checkExternalId(run.id, key),
      }),
    );
    known[key] = id;
    await ctx.runs.recordStepResult(run.id, CHECKS_STEP, known);
  }
  return known;
}

export async function runChecks(ctx: EngineContext, runId: string): Promise<RunChecks> {
  return (await ctx.runs.getStepResult<RunChecks>(runId, CHECKS_STEP)) ?? {};
}

export async function completeRunCheck(
  ctx: EngineContext,
  run: Run,
  checkRunId: number,
  outcome: {
    conclusion: CheckConclusion;
    title: string;
    summary: string;
    text?: string | undefined;
    annotations?: readonly CheckAnnotation[];
  },
): Promise<void> {
  const octokit = await ctx.github.forInstallation(run.installationId);
  await completeCheckRun(octokit, {
    ...splitRepo(run.repo),
    checkRunId,
    conclusion: outcome.conclusion,
    title: outcome.title,
    summary: outcome.summary,
    ...(outcome.text === undefined ? {} : { text: outcome.text }),
    annotations: [...(outcome.annotations ?? [])],
  });
}
