import { describe, expect, it } from 'vitest';
import { rolloutAbortWording } from '../../../src/deploy/rollout-abort-wording.js';

describe('rolloutAbortWording', () => {
  it('credits Shipgate with the abort only when it aborted the Rollout itself', () => {
    expect(rolloutAbortWording(true)).toBe('aborted the Rollout');
    expect(rolloutAbortWording(false)).toBe('the Rollout was already aborted (by Argo Rollouts)');
  });
});
