import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { DeployNotConfigured, RedisUnavailable } from '../../../src/errors.js';
import { asJob } from '../../../workers/job-helpers.js';

describe('asJob', () => {
  it('gives up at once on a non-retryable error, reporting first', async () => {
    const reported: unknown[] = [];
    const err = DeployNotConfigured('no Argo CD');
    await expect(
      asJob(() => Promise.reject(err), { onGivingUp: async (e) => void reported.push(e) }),
    ).rejects.toBeInstanceOf(UnrecoverableError);
    expect(reported).toEqual([err]);
  });

  it('lets BullMQ retry a retryable error, and reports only on the last attempt', async () => {
    const reported: unknown[] = [];
    const err = RedisUnavailable('down');
    const onGivingUp = async (e: unknown) => void reported.push(e);
    await expect(asJob(() => Promise.reject(err), { onGivingUp, lastAttempt: false })).rejects.toBe(err);
    expect(reported).toEqual([]);
    await expect(asJob(() => Promise.reject(err), { onGivingUp, lastAttempt: true })).rejects.toBe(err);
    expect(reported).toEqual([err]);
  });

  it('passes results through and never lets a failing report hide the job error', async () => {
    await expect(asJob(async () => 42)).resolves.toBe(42);
    const err = DeployNotConfigured('x');
    await expect(
      asJob(() => Promise.reject(err), { onGivingUp: () => Promise.reject(new Error('report failed')) }),
    ).rejects.toThrow('cannot deploy: x');
  });
});
