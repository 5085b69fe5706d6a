import { readRepoFile } from '../../github/index.js';
import { PIPELINE_CONFIG_FILE, parsePipelineConfig, type PipelineConfig } from '../../pipeline/index.js';
import type { ConfigIssue } from '../../yaml/parse-yaml-with-schema.js';
import type { Run } from '../../runs/run-types.js';
import { splitRepo, type EngineContext } from '../context/engine-context.js';

const PIPELINE_STEP = 'pipeline-config';
const MAX_PIPELINE_BYTES = 256 * 1024;

export type PipelineLoad =
  | { ok: true; config: PipelineConfig }
  | { ok: false; missing: true }
  | { ok: false; missing: false; errors: ConfigIssue[] };

/**
 * The run's `.shipgate.yml`, read once at the run's commit and kept with the run, so every
 * later stage (and every retry) works from the same settings.
 */
export async function loadPipelineOfRun(ctx: EngineContext, run: Run): Promise<PipelineLoad> {
  const stored = await ctx.runs.getStepResult<PipelineLoad>(run.id, PIPELINE_STEP);
  if (stored !== undefined) return stored;
  const octokit = await ctx.github.forInstallation(run.installationId);
  const text = await readRepoFile(octokit, {
    ...splitRepo(run.repo),
    path: PIPELINE_CONFIG_FILE,
    ref: run.sha,
    maxBytes: MAX_PIPELINE_BYTES,
  });
  let load: PipelineLoad;
  if (text === null) load = { ok: false, missing: true };
  else {
    const parsed = parsePipelineConfig(text);
    load = parsed.ok
      ? { ok: true, config: parsed.config }
      : { ok: false, missing: false, errors: parsed.errors };
  }
  await ctx.runs.recordStepResult(run.id, PIPELINE_STEP, load);
  return load;
}

export async function requirePipelineOfRun(ctx: EngineContext, run: Run): Promise<PipelineConfig> {
  const load = await loadPipelineOfRun(ctx, run);
  if (!load.ok) throw new Error(`run ${run.id} has no valid ${PIPELINE_CONFIG_FILE}`);
  return load.config;
}

/** Check-run annotations for `.shipgate.yml` problems: on the offending line, with what was expected. */
export function configIssueAnnotations(errors: readonly ConfigIssue[]) {
  return errors.map((issue) => ({
    path: issue.file,
    start_line: Math.max(1, issue.line),
    end_line: Math.max(1, issue.line),
    start_column: Math.max(1, issue.column),
    end_column: Math.max(1, issue.column),
    annotation_level: 'failure' as const,
    title: issue.yamlPath === '' ? PIPELINE_CONFIG_FILE : issue.yamlPath,
    message: issue.expected ? `${issue.message} (expected: ${issue.expected})` : issue.message,
  }));
}
