/**
 * Issue 11, "Deploy lock safety", on real Redis and real BullMQ: a deploy whose lease is
 * stolen stops through its AbortSignal and makes no further commit; waiting for the lock is a
 * delay of the job, not a failed attempt.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { holdDeployLease } from '../../../src/deploy/hold-deploy-lease.js';
import type { StepStore } from '../../../src/deploy/ports.js';
import { runStepPlan } from '../../../src/deploy/run-step-plan.js';
import { DeployLeaseLost, DeployLockBusy } from '../../../src/errors.js';
import { newRunId } from '../../../src/runs/run-id.js';
import { DeployLock } from '../../../src/runs/deploy-lock.js';
import { asDeployJob } from '../../../workers/job-helpers.js';
import { deleteKeysWithPrefix, testRedis, uniquePrefix } from '../../support/redis.js';
import type { RedisClient } from '../../../src/redis/connection.js';
import { bullmqPrefix } from '../../../src/queue/bullmq-prefix.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function redisFor(prefix: string): RedisClient {
  const redis = testRedis();
  cleanups.push(async () => {
    redis.disconnect();
    await deleteKeysWithPrefix(prefix);
  });
  return redis;
}

function ledger(redis: RedisClient, prefix: string): StepStore {
  return {
    claim: async (k) => (await redis.set(`${prefix}:claim:${k}`, '1', 'NX')) === 'OK',
    result: async (k) => {
      const v = await redis.hget(`${prefix}:results`, k);
      return v === null ? undefined : (JSON.parse(v) as unknown);
    },
    save: async (k, v) => void (await redis.hset(`${prefix}:results`, k, JSON.stringify(v))),
  };
}

describe('deploy lock safety', () => {
  it('a deploy whose lease is stolen stops at once and makes no further commit', async () => {
    const prefix = uniquePrefix('lease');
    const redis = redisFor(prefix);
    const locks = new DeployLock(redis, { prefix });
    const mine = newRunId();
    const thief = newRunId();
    expect(await locks.acquire('web', 'prod', mine, { leaseMs: 300 })).toBe(true);
    const lease = holdDeployLease(locks, { app: 'web', env: 'prod', runId: mine }, { leaseMs: 300 });
    cleanups.push(async () => lease.stop());

    const commits: string[] = [];
    const run = runStepPlan(
      {
        scope: 'deploy:prod:abc',
        steps: [
          { name: 'commit', run: async () => ({ output: commits.push('release') }) },
          {
            name: 'watch',
            run: async (ctx) => {
              // Another deploy takes the environment (our lease ran out while we were stuck).
              await locks.release('web', 'prod', mine);
              await locks.acquire('web', 'prod', thief, { leaseMs: 60_000 });
              await sleep(30_000, undefined, { signal: ctx.signal });
              return {};
            },
          },
          { name: 'second-commit', run: async () => ({ output: commits.push('second') }) },
        ],
        onFailure: [],
      },
      { ledger: ledger(redis, prefix), signal: lease.signal },
    );
    const started = Date.now();
    await expect(run).rejects.toSatisfy((err) => DeployLeaseLost.is(err));
    // Renewals run every lease/3: the loss is seen within one of them.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(commits).toEqual(['release']);
    expect(await locks.holder('web', 'prod')).toBe(thief);
  });

  it('keeps the lease while renewals succeed', async () => {
    const prefix = uniquePrefix('lease');
    const redis = redisFor(prefix);
    const locks = new DeployLock(redis, { prefix });
    const mine = newRunId();
    // A lease long enough that a renewal (every third of it) delayed by a loaded CI machine's
    // scheduler still lands in time: 200 ms lost it under full CPU load.
    await locks.acquire('web', 'prod', mine, { leaseMs: 1000 });
    const lease = holdDeployLease(locks, { app: 'web', env: 'prod', runId: mine }, { leaseMs: 1000 });
    await sleep(2500); // two and a half leases long: only renewals keep it
    expect(lease.signal.aborted).toBe(false);
    expect(await locks.holder('web', 'prod')).toBe(mine);
    lease.stop();
  });

  it('stops when Redis cannot confirm the lease for two thirds of it', async () => {
    let now = 0;
    const lease = holdDeployLease(
      {
        renew: async () => {
          throw new Error('ECONNREFUSED');
        },
      },
      { app: 'web', env: 'prod', runId: newRunId() },
      { leaseMs: 150, now: () => now },
    );
    now = 50;
    await sleep(60);
    expect(lease.signal.aborted).toBe(false);
    now = 120;
    await sleep(80);
    expect(lease.signal.aborted).toBe(true);
    expect(DeployLeaseLost.is(lease.signal.reason)).toBe(true);
  });

  it('waiting for the lock is a delay: no failed attempt, no failed event', async () => {
    const prefix = uniquePrefix('wait');
    const connection = redisFor(prefix);
    const name = `deploy-${randomUUID()}`;
    const queue = new Queue(name, { connection, prefix: bullmqPrefix(prefix) });
    const events = new QueueEvents(name, {
      connection: connection.duplicate(),
      prefix: bullmqPrefix(prefix),
      // From the stream's start, not '$': `waitUntilReady` does not wait for the first XREAD,
      // so a 50 ms wait could be over before the reader looks (seen on the cluster suite).
      // The prefix is this test's own, so the stream holds this test's events only.
      lastEventId: '0-0',
    });
    let busyCalls = 0;
    const failed: string[] = [];
    const worker = new Worker(
      name,
      async (job, token) =>
        asDeployJob(
          job,
          token,
          async () => {
            if (busyCalls++ < 2) throw DeployLockBusy('web', 'prod', 'run-holder');
            return 'deployed';
          },
          50,
        ),
      { connection: connection.duplicate(), prefix: bullmqPrefix(prefix) },
    );
    worker.on('failed', (_job, err) => failed.push(err.message));
    cleanups.push(async () => {
      await worker.close();
      await events.close();
      await queue.close();
    });
    await events.waitUntilReady();
    const delayed: string[] = [];
    events.on('delayed', ({ jobId }) => delayed.push(jobId));
    const job = await queue.add('deploy', {}, { attempts: 2, backoff: { type: 'fixed', delay: 10 } });
    expect(await job.waitUntilFinished(events, 20_000)).toBe('deployed');
    const done = await queue.getJob(job.id!);
    expect(busyCalls).toBe(3);
    // Two waits, yet the job never failed and its attempts are intact (2 allowed, none used up).
    expect(failed).toEqual([]);
    expect(delayed.length).toBeGreaterThanOrEqual(2);
    expect(done?.attemptsMade).toBe(1);
    expect(await queue.getFailedCount()).toBe(0);
  });
});
