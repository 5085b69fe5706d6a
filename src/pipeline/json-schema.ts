import { z } from 'zod';
import { pipelineConfigSchema } from './schema.js';

/**
 * The JSON Schema editors use for `.shipgate.yml` (yaml-language-server, VS Code, JetBrains).
 * Generated from the zod schema, describing what may be written (`io: 'input'`), so defaults
 * are optional. Cross-field rules (every environment has manifests, unique names) are checked
 * only by Shipgate. `schemas/shipgate.schema.json` is this output; a unit test keeps it fresh.
 */
export function pipelineJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(pipelineConfigSchema, { io: 'input', target: 'draft-2020-12' });
  return {
    $schema: schema.$schema,
    title: 'Shipgate pipeline (.shipgate.yml)',
    ...schema,
  };
}
