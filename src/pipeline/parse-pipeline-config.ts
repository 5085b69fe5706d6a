import type { SafeYamlOptions } from '../yaml/parse-yaml-safely.js';
import { type ConfigIssue, parseYamlWithSchema } from '../yaml/parse-yaml-with-schema.js';
import { type PipelineConfig, pipelineConfigSchema } from './schema.js';

export const PIPELINE_CONFIG_FILE = '.shipgate.yml';

/**
 * Limits for `.shipgate.yml`. A real file is a few KiB, a few hundred tokens and a handful of
 * anchors; these leave a wide margin and still refuse anything built to exhaust a worker. The
 * token budget is what bounds CPU: parsing costs a few microseconds per token, so no file within
 * these limits costs more than a few tens of milliseconds, valid or hostile.
 */
export const PIPELINE_YAML_LIMITS: SafeYamlOptions = {
  maxBytes: 256 * 1024,
  maxTokens: 10_000,
  maxAliasCount: 100,
  maxResolvedNodes: 20_000,
  maxResolvedScalarChars: 1024 * 1024,
  maxDepth: 32,
};

export type PipelineConfigResult =
  { ok: true; config: PipelineConfig } | { ok: false; errors: ConfigIssue[] };

/**
 * Parses and validates an app repo's `.shipgate.yml`. Never throws for bad input: every problem
 * comes back as a `ConfigIssue` with the line and column a check-run annotation needs.
 */
export function parsePipelineConfig(text: string, file: string = PIPELINE_CONFIG_FILE): PipelineConfigResult {
  const result = parseYamlWithSchema(text, file, pipelineConfigSchema, PIPELINE_YAML_LIMITS);
  return result.ok ? { ok: true, config: result.value } : { ok: false, errors: result.errors };
}
