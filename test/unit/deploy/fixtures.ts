import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { ApplicationSchema, type Application } from '../../../src/argocd/schema.js';
import {
  AnalysisRunSchema,
  RolloutSchema,
  type AnalysisRun,
  type Rollout,
} from '../../../src/deploy/schema.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const FIXTURES = path.resolve(here, '../../fixtures');

export function rolloutFixture(file: string): Rollout {
  return RolloutSchema.parse(parse(readFileSync(path.join(FIXTURES, 'rollouts', file), 'utf8')));
}
export function analysisRunFixture(file: string): AnalysisRun {
  return AnalysisRunSchema.parse(parse(readFileSync(path.join(FIXTURES, 'rollouts', file), 'utf8')));
}
export function applicationFixture(): Application {
  return ApplicationSchema.parse(
    JSON.parse(readFileSync(path.join(FIXTURES, 'argocd', 'application-velero-synced-healthy.json'), 'utf8')),
  );
}
