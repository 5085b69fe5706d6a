import { z } from 'zod';
import { policySchema } from './schema.js';

/** JSON Schema of `shipgate/policy.yml` for editors; `schemas/shipgate-policy.schema.json`, kept fresh by a test. */
export function policyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(policySchema, { io: 'input', target: 'draft-2020-12' });
  return { $schema: schema.$schema, title: 'Shipgate platform policy (shipgate/policy.yml)', ...schema };
}
