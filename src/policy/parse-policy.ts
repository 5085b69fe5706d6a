import type { SafeYamlOptions } from '../yaml/parse-yaml-safely.js';
import { type ConfigIssue, parseYamlWithSchema } from '../yaml/parse-yaml-with-schema.js';
import { type Policy, POLICY_FILE_PATH, policySchema } from './schema.js';

/**
 * A policy lists every repo of an organisation: larger than an app's pipeline file, still
 * bounded. The token budget bounds CPU (parsing costs a few microseconds per token) and fits
 * about 1,200 repository grants with two environments each; an organisation with more splits
 * them over several env repos.
 */
export const POLICY_YAML_LIMITS: SafeYamlOptions = {
  maxBytes: 256 * 1024,
  maxTokens: 30_000,
  maxAliasCount: 500,
  maxResolvedNodes: 200_000,
  maxResolvedScalarChars: 4 * 1024 * 1024,
  maxDepth: 32,
};

export type PolicyResult = { ok: true; policy: Policy } | { ok: false; errors: ConfigIssue[] };

/** Parses and validates the platform policy. Never throws for bad input. */
export function parsePolicy(text: string, file: string = POLICY_FILE_PATH): PolicyResult {
  const result = parseYamlWithSchema(text, file, policySchema, POLICY_YAML_LIMITS);
  return result.ok ? { ok: true, policy: result.value } : { ok: false, errors: result.errors };
}
