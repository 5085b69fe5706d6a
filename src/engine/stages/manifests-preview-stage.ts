import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { cloneAtSha } from '../../git/clone-with-token.js';
import { previewManifestDiffs } from '../../gitops/preview-diff.js';
import { isTerminal } from '../../runs/run-state-machine.js';
import { advanceGatingRun } from '../progress/advance-run.js';
import { planEnvironments } from '../decisions/deploy-targets.js';
import type { EngineContext } from '../context/engine-context.js';
import { requirePipelineOfRun } from '../progress/pipeline-of-run.js';
import { recordGateResult } from '../progress/record-gate-result.js';
import { completeRunCheck } from '../progress/run-checks.js';
import { checkoutOf } from './gate-stage.js';
import type { StageJob } from '../context/stage-jobs.js';
import { describeStrategies } from '../../deploy/strategies.js';

type PreviewJob = Extract<StageJob, { stage: 'manifests-preview' }>;

/**
 * Pull requests: render every granted environment at the PR's head, validate it, and show the
 * diff against what the env repo holds now in the `shipgate/manifests` check run.
 */
export async function runManifestsPreviewStage(ctx: EngineContext, job: PreviewJob): Promise<void> {
  const run = await ctx.runs.requireRun(job.runId);
  if (isTerminal(run.state)) {
    await completeRunCheck(ctx, run, job.checkRunId, {
      conclusion: 'cancelled',
      title: 'Cancelled',
      summary: `The run ended (${run.state}) before the manifests were rendered.`,
    });
    return;
  }
  const pipeline = await requirePipelineOfRun(ctx, run);
  const { policy } = await ctx.policy.current();
  const plan = planEnvironments(pipeline, policy, run.repo);
  // The check run was created `in_progress` with this job (see ensureRunChecks): no PATCH here.

  const refusedNote = plan.refused.map((r) => `- \`${r.env}\`: not rendered — ${r.reason}`).join('\n');
  if (plan.environments.length === 0) {
    const summary = `No environment of \`.shipgate.yml\` is granted to this repo by the platform policy.\n\n${refusedNote}`;
    await completeRunCheck(ctx, run, job.checkRunId, {
      conclusion: 'neutral',
      title: 'Nothing to render',
      summary,
    });
    await recordGateResult(
      ctx,
      run.id,
      'manifests',
      { conclusion: 'neutral', title: 'Nothing to render' },
      'gate:manifests',
    );
    await advanceGatingRun(ctx, run.id);
    return;
  }

  const checkoutDir = await mkdtemp(path.join(ctx.workDir, 'preview-'));
  try {
    await cloneAtSha({ ...checkoutOf(ctx, run), dir: path.join(checkoutDir, 'src') });
    const preview = await previewManifestDiffs(ctx.envRepo, {
      checkoutDir: path.join(checkoutDir, 'src'),
      environments: plan.environments.map(({ target, source }) => ({ target, source })),
    });
    // Which strategy each environment will deploy with, so a reviewer sees it before the release.
    const strategies = describeStrategies(
      plan.environments.map((e) => ({ env: e.target.env, strategy: e.strategy })),
    );
    const summary = `${preview.summary}\n\n${strategies}`;
    await completeRunCheck(ctx, run, job.checkRunId, {
      conclusion: preview.conclusion,
      title: preview.title,
      summary: refusedNote ? `${summary}\n\n${refusedNote}` : summary,
      text: preview.text,
      annotations: preview.annotations,
    });
    await recordGateResult(
      ctx,
      run.id,
      'manifests',
      { conclusion: preview.conclusion, title: preview.title },
      'gate:manifests',
    );
  } finally {
    await rm(checkoutDir, { recursive: true, force: true });
  }
  await advanceGatingRun(ctx, run.id);
}
