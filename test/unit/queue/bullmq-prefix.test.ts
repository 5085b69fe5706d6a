import { describe, expect, it } from 'vitest';
import { bullmqPrefix } from '../../../src/queue/bullmq-prefix.js';
import { clusterKeySlot } from '../../support/key-slot.js';

describe('bullmqPrefix', () => {
  it('makes the queue prefix a hash tag, so every key of every queue shares one cluster slot', () => {
    const prefix = bullmqPrefix('shipgate');
    expect(prefix).toBe('{shipgate}');
    const keys = ['webhook:wait', 'webhook:gh-123', 'deploy:events', 'deploy:meta', 'pipeline:id'].map(
      (rest) => `${prefix}:${rest}`,
    );
    expect(new Set(keys.map(clusterKeySlot)).size).toBe(1);
  });

  it('refuses a prefix that already has braces', () => {
    expect(() => bullmqPrefix('{shipgate}')).toThrow(TypeError);
  });
});
