import { recordGateOverrides } from '../../audit/record-decision.js';
import { isShipgateError } from '../../errors.js';
import { runTestsGate, runTrivyGate, type GateResult } from '../../gates/index.js';
import { isTerminal } from '../../runs/run-state-machine.js';
import type { Run } from '../../runs/run-types.js';
import { advanceGatingRun } from '../progress/advance-run.js';
import type { EngineContext } from '../context/engine-context.js';
import { testsGateOptions, trivyGateOptions } from '../decisions/gate-options.js';
import { requirePipelineOfRun } from '../progress/pipeline-of-run.js';
import { recordGateResult } from '../progress/record-gate-result.js';
import { completeRunCheck } from '../progress/run-checks.js';
import type { StageJob } from '../context/stage-jobs.js';
import { abortWhenRunEnds } from '../progress/watch-run-cancellation.js';

type GateJob = Extract<StageJob, { stage: 'gate' }>;

/** The checkout a gate runs on: the run's exact commit, with a freshly minted token. */
export function checkoutOf(ctx: EngineContext, run: Run) {
  return {
    cloneUrl: ctx.cloneUrlOf(run.repo),
    sha: run.sha,
    token: async () => (await ctx.github.getInstallationToken(run.installationId)).token,
  };
}

/**
 * Runs one gate (tests or Trivy) for a run and reports it as its check run. A retried job
 * re-runs the gate from scratch (the Kubernetes executor re-attaches to its Job instead); the
 * check run is completed by whichever attempt finishes, and the verdict is taken once.
 */
export async function runGateStage(ctx: EngineContext, job: GateJob): Promise<GateResult | undefined> {
  const run = await ctx.runs.requireRun(job.runId);
  if (isTerminal(run.state)) {
    await completeRunCheck(ctx, run, job.checkRunId, {
      conclusion: 'cancelled',
      title: 'Cancelled',
      summary: `The run ended (${run.state}) before this gate ran.`,
    });
    return undefined;
  }
  const pipeline = await requirePipelineOfRun(ctx, run);
  // The check run was created `in_progress` with this job (see ensureRunChecks): no PATCH here.

  const controller = new AbortController();
  const stopWatching = abortWhenRunEnds(ctx, run.id, controller);
  const gateContext = {
    runId: run.id,
    attemptKey: `${run.id}.${job.gate}.${job.attempt}`,
    checkout: checkoutOf(ctx, run),
  };
  let result: GateResult;
  const startedAt = Date.now();
  try {
    result =
      job.gate === 'tests'
        ? await runTestsGate(ctx.executor, gateContext, testsGateOptions(pipeline), {
            signal: controller.signal,
          })
        : await runTrivyGate(ctx.executor, gateContext, trivyGateOptions(pipeline, run), {
            signal: controller.signal,
            now: ctx.now(),
          });
  } finally {
    stopWatching();
  }
  ctx.metrics?.gateDuration.observe(
    { gate: job.gate, conclusion: result.cancelled ? 'cancelled' : result.conclusion },
    (Date.now() - startedAt) / 1000,
  );

  await completeRunCheck(ctx, run, job.checkRunId, {
    conclusion: result.cancelled ? 'cancelled' : result.conclusion,
    title: result.title,
    summary: result.summary,
    text: result.text,
    annotations: result.annotations,
  });
  const key = job.gate === 'tests' ? 'tests' : 'trivy';
  if (ctx.audit !== undefined && result.overrides !== undefined && result.overrides.length > 0) {
    await recordGateOverrides(ctx.audit, {
      runId: run.id,
      ...(run.app !== undefined ? { app: run.app } : {}),
      gate: job.gate,
      // The ignore rules live in the app repo's .shipgate.yml: whoever released the tag or PR.
      actor: run.releaser,
      at: ctx.now(),
      overrides: result.overrides,
    }).catch((err: unknown) => ctx.logger.warn({ err, runId: run.id }, 'audit: could not record overrides'));
  }
  await recordGateResult(ctx, run.id, key, result, `gate:${key}:${job.attempt}`);
  await advanceGatingRun(ctx, run.id);
  return result;
}

/**
 * A gate job that will not be retried any more (a non-retryable error, or its last attempt)
 * still owes the PR an answer: its check run is completed as failed with the reason, and the
 * verdict is taken, so the run ends instead of gating forever.
 */
export async function failGateStage(
  ctx: EngineContext,
  job: { runId: string; checkRunId: number; key: 'tests' | 'trivy' | 'manifests'; attempt: number },
  err: unknown,
  /** Words that replace the error's, e.g. why BullMQ gave up on the job. */
  explanation?: string,
): Promise<void> {
  const run = await ctx.runs.requireRun(job.runId);
  const reason =
    explanation ??
    (isShipgateError(err) ? `${err.code}: ${err.message}` : 'internal error (see the worker logs)');
  await completeRunCheck(ctx, run, job.checkRunId, {
    conclusion: 'failure',
    title: 'Shipgate could not run this gate',
    summary: `The gate failed before it could judge this commit: ${reason}`,
  });
  await recordGateResult(
    ctx,
    run.id,
    job.key,
    { conclusion: 'failure', title: 'Shipgate could not run this gate' },
    `gate:${job.key}:${job.attempt}:error`,
  );
  await advanceGatingRun(ctx, run.id);
}
