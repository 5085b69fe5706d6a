import type { Run } from '../../runs/run-types.js';
import type { PipelineLoad } from '../progress/pipeline-of-run.js';
import { configIssueAnnotations } from '../progress/pipeline-of-run.js';
import { reportRunCheck } from '../progress/run-checks.js';
import type { EngineContext } from '../context/engine-context.js';

/**
 * Reports `.shipgate.yml` as the `shipgate/config` check. Returns whether the run may go on;
 * when it may not, the run is already moved to its terminal state.
 */
export async function reportConfigCheck(
  ctx: EngineContext,
  run: Run,
  load: PipelineLoad,
  extraProblems: readonly string[] = [],
): Promise<boolean> {
  // The result is known before the check run exists, so it is created completed (one write).
  if (!load.ok && load.missing) {
    await reportRunCheck(ctx, run, 'config', {
      conclusion: 'neutral',
      title: 'No .shipgate.yml',
      summary: `There is no \`.shipgate.yml\` at ${run.sha.slice(0, 7)}, so Shipgate has nothing to run.`,
    });
    await ctx.runs.transition(run.id, {
      from: 'queued',
      to: 'cancelled',
      reason: 'no .shipgate.yml',
      eventKey: `${run.id}:config`,
    });
    return false;
  }
  if (!load.ok) {
    const lines = load.errors.map(
      (e) => `- \`${e.file}:${e.line}:${e.column}\` **${e.yamlPath || '(root)'}**: ${e.message}`,
    );
    await reportRunCheck(ctx, run, 'config', {
      conclusion: 'failure',
      title: `.shipgate.yml has ${load.errors.length} problem${load.errors.length === 1 ? '' : 's'}`,
      summary: lines.join('\n'),
      annotations: configIssueAnnotations(load.errors),
    });
    await ctx.runs.transition(run.id, {
      from: 'queued',
      to: 'failed',
      reason: 'invalid .shipgate.yml',
      eventKey: `${run.id}:config`,
    });
    return false;
  }
  const notes = extraProblems.map((p) => `- ${p}`).join('\n');
  await reportRunCheck(ctx, run, 'config', {
    conclusion: 'success',
    title: `.shipgate.yml is valid (app ${load.config.app})`,
    summary: notes
      ? `Valid. Settings the platform policy does not grant were left out:\n\n${notes}`
      : 'Valid.',
  });
  return true;
}
