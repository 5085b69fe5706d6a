import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunStartBusy } from '../../../src/errors.js';
import { RUN_START_LEASE_MS, withRunStartLease } from '../../../src/engine/triggers/run-start-lease.js';
import type { RedisClient } from '../../../src/redis/connection.js';
import { DeployLock } from '../../../src/runs/deploy-lock.js';
import { newRunId } from '../../../src/runs/run-id.js';
import { deleteKeysWithPrefix, testRedis, uniquePrefix } from '../../support/redis.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Issue 17, found by the fault soak: a worker killed while starting a run held the run-start
 * lease for a flat 60 s, so the redelivered webhook job could not start the run for a minute.
 * The lease is now short and renewed by a live holder.
 */
describe('the run-start lease (real Redis)', () => {
  let prefix: string;
  let redis: RedisClient;
  let locks: DeployLock;

  beforeEach(() => {
    prefix = uniquePrefix('start-lease');
    redis = testRedis();
    locks = new DeployLock(redis, { prefix });
  });

  afterEach(async () => {
    redis.disconnect();
    await deleteKeysWithPrefix(prefix);
  });

  it('a killed holder blocks the run for well under 10 s, the time a killed job has to resume', () => {
    expect(RUN_START_LEASE_MS).toBeLessThanOrEqual(8_000);
  });

  it('frees the run once a crashed holder’s lease runs out', async () => {
    const runId = newRunId();
    // What a worker killed mid-start leaves: a held lease, never renewed or released.
    expect(await locks.acquire('run-start', runId.toLowerCase(), newRunId(), { leaseMs: 300 })).toBe(true);
    await expect(
      withRunStartLease({ locks }, runId, async () => 'started', { leaseMs: 300 }),
    ).rejects.toThrow(RunStartBusy(runId).message);
    await sleep(400);
    await expect(withRunStartLease({ locks }, runId, async () => 'started', { leaseMs: 300 })).resolves.toBe(
      'started',
    );
  });

  it('a live holder keeps the run for as long as its start takes (renewed), then frees it', async () => {
    const runId = newRunId();
    let release!: () => void;
    const slowStart = withRunStartLease(
      { locks },
      runId,
      () => new Promise<string>((resolve) => (release = () => resolve('first'))),
      { leaseMs: 300 },
    );
    // Three leases later, a second delivery still finds the start in progress.
    await sleep(900);
    await expect(withRunStartLease({ locks }, runId, async () => 'second', { leaseMs: 300 })).rejects.toThrow(
      RunStartBusy(runId).message,
    );
    release();
    await expect(slowStart).resolves.toBe('first');
    await expect(withRunStartLease({ locks }, runId, async () => 'second', { leaseMs: 300 })).resolves.toBe(
      'second',
    );
  });
});
