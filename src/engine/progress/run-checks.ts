import {
  ANNOTATIONS_PER_REQUEST,
  completeCheckRun,
  ensureCheckRun,
  type CheckAnnotation,
  type CheckConclusion,
  type CheckRunStart,
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
 * `start` is the state they are created in: `in_progress` when their work is enqueued in the
 * same step, which saves the PATCH that would otherwise say so a moment later.
 */
export async function ensureRunChecks(
  ctx: EngineContext,
  run: Run,
  keys: readonly CheckKey[],
  start: CheckRunStart = { status: 'queued' },
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
        start,
      }),
    );
    known[key] = id;
    await ctx.runs.recordStepResult(run.id, CHECKS_STEP, known);
  }
  return known;
}

export interface CheckOutcome {
  conclusion: CheckConclusion;
  title: string;
  summary: string;
  text?: string | undefined;
  annotations?: readonly CheckAnnotation[];
}

/**
 * Reports a check whose result is known before its check run exists (the config check): one
 * POST creates it completed, instead of a POST `queued` and a completing PATCH. A check run
 * that exists already (a retried job, or one found on GitHub) is completed as before, which
 * is a read and no write when it is complete.
 */
export async function reportRunCheck(
  ctx: EngineContext,
  run: Run,
  key: CheckKey,
  outcome: CheckOutcome,
): Promise<number> {
  const completion = { conclusion: outcome.conclusion, title: outcome.title, summary: outcome.summary };
  const full = {
    ...completion,
    ...(outcome.text === undefined ? {} : { text: outcome.text }),
    annotations: [...(outcome.annotations ?? [])],
  };
  let completedHere = false;
  const known = (await ctx.runs.getStepResult<RunChecks>(run.id, CHECKS_STEP)) ?? {};
  let id = known[key];
  if (id === undefined) {
    const octokit = await ctx.github.forInstallation(run.installationId);
    ({ id } = await createOncePerRun(ctx.runs, run.id, `check:${key}`, async () => {
      const made = await ensureCheckRun(octokit, {
        ...splitRepo(run.repo),
        name: CHECK_NAMES[key],
        headSha: run.sha,
        externalId: checkExternalId(run.id, key),
        start: { status: 'completed', ...full },
      });
      completedHere = made.created;
      return made;
    }));
    await ctx.runs.recordStepResult(run.id, CHECKS_STEP, { ...known, [key]: id });
  }
  // Annotations past the first 50 need PATCHes; completeCheckRun resumes after those stored.
  const more = (outcome.annotations?.length ?? 0) > ANNOTATIONS_PER_REQUEST;
  if (!completedHere || more) await completeRunCheck(ctx, run, id, outcome);
  return id;
}

export async function runChecks(ctx: EngineContext, runId: string): Promise<RunChecks> {
  return (await ctx.runs.getStepResult<RunChecks>(runId, CHECKS_STEP)) ?? {};
}

export async function completeRunCheck(
  ctx: EngineContext,
  run: Run,
  checkRunId: number,
  outcome: CheckOutcome,
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
