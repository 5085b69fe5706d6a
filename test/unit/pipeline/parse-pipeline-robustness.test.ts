import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../../src/pipeline/parse-pipeline-config.js';
import { mutateScalars } from '../yaml/mutate-scalars.js';

const EXAMPLE = readFileSync(new URL('./examples/shipgate.yml', import.meta.url), 'utf8');

describe('parsePipelineConfig robustness', () => {
  it('never throws, and places every issue inside the file, whatever value is wrong', () => {
    let variants = 0;
    let refused = 0;
    const lines = EXAMPLE.split('\n').length + 20;
    for (const text of mutateScalars(EXAMPLE)) {
      variants += 1;
      const result = parsePipelineConfig(text);
      if (!result.ok) {
        refused += 1;
        for (const issue of result.errors) {
          expect(issue.line).toBeGreaterThanOrEqual(1);
          expect(issue.line).toBeLessThanOrEqual(lines);
        }
      }
    }
    expect(variants).toBeGreaterThan(300);
    expect(refused / variants).toBeGreaterThan(0.8);
  });
});
