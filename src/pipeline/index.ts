export {
  PIPELINE_CONFIG_FILE,
  PIPELINE_YAML_LIMITS,
  parsePipelineConfig,
  type PipelineConfigResult,
} from './parse-pipeline-config.js';
export * from './schema.js';
export { releaseImageReference, renderImageTag, type ReleaseRef } from './image-reference.js';
export { partitionTrivyIgnores, type TrivyIgnorePartition } from './trivy-ignores.js';
export { pipelineJsonSchema } from './json-schema.js';
export {
  isSameOrInside,
  normaliseRelativePath,
  relativePathSchema,
  type RelativePathRules,
} from './safe-relative-path.js';
export type { ConfigIssue } from '../yaml/parse-yaml-with-schema.js';
