import { readFileSync } from 'node:fs';
import { parsePolicy } from '../../../src/policy/parse-policy.js';
import type { Policy } from '../../../src/policy/schema.js';

export const EXAMPLE_POLICY_TEXT = readFileSync(new URL('./examples/policy.yml', import.meta.url), 'utf8');

export function policyFrom(text: string): Policy {
  const result = parsePolicy(text);
  if (!result.ok) throw new Error(`expected a valid policy: ${JSON.stringify(result.errors, null, 2)}`);
  return result.policy;
}

export const examplePolicy = (): Policy => policyFrom(EXAMPLE_POLICY_TEXT);
