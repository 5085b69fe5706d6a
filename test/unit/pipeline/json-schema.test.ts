import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { pipelineJsonSchema } from '../../../src/pipeline/json-schema.js';

const SCHEMA_FILE = new URL('../../../schemas/shipgate.schema.json', import.meta.url);
const EXAMPLE = parse(readFileSync(new URL('./examples/shipgate.yml', import.meta.url), 'utf8')) as Record<
  string,
  unknown
>;

describe('schemas/shipgate.schema.json', () => {
  // Generated from the zod schema. When this fails, regenerate with
  //   npx vitest run test/unit/pipeline/json-schema.test.ts -u
  // and commit the file: editors must see the same rules Shipgate applies.
  it('is up to date with the zod schema', async () => {
    // Formatted like `npm run format` would, so `prettier --check .` and this test agree.
    const options = await resolveConfig(SCHEMA_FILE.pathname);
    const text = await format(JSON.stringify(pipelineJsonSchema(), null, 2), {
      ...options,
      filepath: SCHEMA_FILE.pathname,
    });
    await expect(text).toMatchFileSnapshot(SCHEMA_FILE.pathname);
  });

  it('accepts the documented example and refuses a typo, like Shipgate does', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);
    expect(validate(EXAMPLE), JSON.stringify(validate.errors)).toBe(true);
    const typo = { ...EXAMPLE, test: { ...(EXAMPLE.test as object), timeoutSecond: 5 } };
    expect(validate(typo)).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({ instancePath: '/test', keyword: 'additionalProperties' });
  });
});
