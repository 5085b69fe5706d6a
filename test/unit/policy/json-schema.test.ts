import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { policyJsonSchema } from '../../../src/policy/json-schema.js';
import { EXAMPLE_POLICY_TEXT } from './policy-fixtures.js';

const SCHEMA_FILE = new URL('../../../schemas/shipgate-policy.schema.json', import.meta.url);

describe('schemas/shipgate-policy.schema.json', () => {
  // Regenerate with: npx vitest run test/unit/policy/json-schema.test.ts -u
  it('is up to date with the zod schema', async () => {
    const options = await resolveConfig(SCHEMA_FILE.pathname);
    const text = await format(JSON.stringify(policyJsonSchema(), null, 2), {
      ...options,
      filepath: SCHEMA_FILE.pathname,
    });
    await expect(text).toMatchFileSnapshot(SCHEMA_FILE.pathname);
  });

  it('accepts the documented example and refuses a typo', () => {
    const validate = new Ajv2020({ strict: false }).compile(
      JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object,
    );
    const example = parse(EXAMPLE_POLICY_TEXT) as Record<string, unknown>;
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...example, forkPullRequest: 'none' })).toBe(false);
  });
});
