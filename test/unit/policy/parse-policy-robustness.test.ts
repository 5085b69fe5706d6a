import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../../src/policy/parse-policy.js';
import { mutateScalars } from '../yaml/mutate-scalars.js';
import { EXAMPLE_POLICY_TEXT } from './policy-fixtures.js';

describe('parsePolicy robustness', () => {
  it('never throws, and places every issue inside the file, whatever value is wrong', () => {
    let variants = 0;
    let refused = 0;
    const lines = EXAMPLE_POLICY_TEXT.split('\n').length + 20;
    for (const text of mutateScalars(EXAMPLE_POLICY_TEXT)) {
      variants += 1;
      const result = parsePolicy(text);
      if (!result.ok) {
        refused += 1;
        for (const issue of result.errors) {
          expect(issue.line).toBeGreaterThanOrEqual(1);
          expect(issue.line).toBeLessThanOrEqual(lines);
          expect(issue.message.length).toBeGreaterThan(0);
        }
      }
    }
    expect(variants).toBeGreaterThan(400);
    expect(refused / variants).toBeGreaterThan(0.8);
  });
});
