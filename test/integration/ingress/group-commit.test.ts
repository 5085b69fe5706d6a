import { Queue } from 'bullmq';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createRedisConnection } from '../../../src/redis/connection.js';
import { createDeliveryEnqueuer, type EnqueueOutcome } from '../../../src/webhooks/enqueue-delivery.js';
import { deleteKeysWithPrefix, testRedis, uniquePrefix } from '../../support/redis.js';
import { startRedisServer } from '../../support/redis-server.js';
import { tagPushJob } from '../../support/tag-push-job.js';
import { bullmqPrefix } from '../../../src/queue/bullmq-prefix.js';

async function settle<T>(promises: Promise<T>[]): Promise<(T | Error)[]> {
  return Promise.all(promises.map((p) => p.catch((err: Error) => err)));
}

describe('group commit against real Redis', () => {
  const prefix = uniquePrefix('group-commit');
  const producer = testRedis('producer', { commandTimeoutMs: 1000 });
  const queue = new Queue('webhook', { connection: producer, prefix: bullmqPrefix(prefix) });
  afterAll(async () => {
    await queue.close();
    producer.disconnect();
    await deleteKeysWithPrefix(prefix);
  });

  it('one addBulk for a turn of mixed new and duplicate deliveries: one job each, each its own answer', async () => {
    const enqueuer = createDeliveryEnqueuer({ producer, queue });
    await enqueuer.enqueue('gh-old', tagPushJob('old'));
    const addBulk = vi.spyOn(queue, 'addBulk');
    // All in one turn of the event loop, as concurrent requests verified together would be.
    const keys = ['gh-a', 'gh-b', 'gh-a', 'gh-old', 'gh-c', 'gh-b', 'gh-a'];
    const outcomes = await Promise.all(keys.map((k) => enqueuer.enqueue(k, tagPushJob(k))));
    expect(outcomes).toEqual<EnqueueOutcome[]>([
      'accepted',
      'accepted',
      'duplicate',
      'duplicate',
      'accepted',
      'duplicate',
      'duplicate',
    ]);
    expect(addBulk).toHaveBeenCalledTimes(1);
    expect(addBulk.mock.calls[0]![0].map((j) => j.opts?.jobId)).toEqual(['gh-a', 'gh-b', 'gh-old', 'gh-c']);
    const jobs = await queue.getJobs(['waiting'], 0, -1);
    expect(jobs.map((j) => j.id).sort()).toEqual(['gh-a', 'gh-b', 'gh-c', 'gh-old']);
    addBulk.mockRestore();
  });

  it('splits a turn at the batch cap', async () => {
    const enqueuer = createDeliveryEnqueuer({ producer, queue, maxBatch: 10 });
    const addBulk = vi.spyOn(queue, 'addBulk');
    const outcomes = await Promise.all(
      Array.from({ length: 25 }, (_, i) => enqueuer.enqueue(`gh-cap-${i}`, tagPushJob(`cap-${i}`))),
    );
    expect(outcomes.every((o) => o === 'accepted')).toBe(true);
    expect(addBulk.mock.calls.map((c) => c[0].length)).toEqual([10, 10, 5]);
    addBulk.mockRestore();
  });
});

describe('group commit while Redis fails', () => {
  it('a batch during which Redis stops answering: every request a 503 within the bound, none a 202', async () => {
    const redis = await startRedisServer();
    const producer = createRedisConnection(redis.url, 'producer', { commandTimeoutMs: 800 });
    const queue = new Queue('webhook', { connection: producer, prefix: 'gc' });
    try {
      await queue.waitUntilReady();
      const enqueuer = createDeliveryEnqueuer({ producer, queue, timeoutMs: 1500 });
      const pid = Number(/process_id:(\d+)/.exec(await producer.info('server'))?.[1]);
      const started = Date.now();
      const pending = Array.from({ length: 50 }, (_, i) =>
        enqueuer.enqueue(`gh-stop-${i}`, tagPushJob(`stop-${i}`)),
      );
      // The batch is formed this turn and flushed on the next: Redis freezes in between.
      process.kill(pid, 'SIGSTOP');
      let results: (EnqueueOutcome | Error)[];
      try {
        results = await settle(pending);
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      expect(Date.now() - started).toBeLessThan(1500 + 300);
      expect(
        results.every((r) => r instanceof Error && (r as { statusCode?: number }).statusCode === 503),
      ).toBe(true);
    } finally {
      await queue.close();
      producer.disconnect();
      await redis.dispose();
    }
  });

  it('a batch during which Redis goes down: every 202 has its job after the restart', async () => {
    const redis = await startRedisServer();
    const producer = createRedisConnection(redis.url, 'producer', { commandTimeoutMs: 800 });
    const queue = new Queue('webhook', { connection: producer, prefix: 'gc' });
    try {
      await queue.waitUntilReady();
      const enqueuer = createDeliveryEnqueuer({ producer, queue, timeoutMs: 1500 });
      const keys = Array.from({ length: 200 }, (_, i) => `gh-down-${i}`);
      const started = Date.now();
      const pending = keys.map((k) => enqueuer.enqueue(k, tagPushJob(k)));
      const stopping = redis.stop();
      const results = await settle(pending);
      expect(Date.now() - started).toBeLessThan(1500 + 500);
      await stopping;
      await redis.start();
      const reader = createRedisConnection(redis.url, 'worker');
      const readerQueue = new Queue('webhook', { connection: reader, prefix: 'gc' });
      try {
        for (const [i, r] of results.entries()) {
          if (r instanceof Error) expect((r as { statusCode?: number }).statusCode).toBe(503);
          else expect(await readerQueue.getJob(keys[i]!), `job ${keys[i]} after ${r}`).toBeDefined();
        }
      } finally {
        await readerQueue.close();
        reader.disconnect();
      }
    } finally {
      await queue.close();
      producer.disconnect();
      await redis.dispose();
    }
  });
});
