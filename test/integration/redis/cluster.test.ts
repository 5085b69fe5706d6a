import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { createLogger } from '../../../src/logger.js';
import { bullmqPrefix } from '../../../src/queue/bullmq-prefix.js';
import { primaries, type RedisClient } from '../../../src/redis/connection.js';
import { checkEvictionPolicy } from '../../../src/redis/eviction-check.js';
import { LogCapture } from '../ingress/ingress-harness.js';
import {
  deleteKeysWithPrefix,
  TEST_REDIS_IS_CLUSTER,
  testRedis,
  uniquePrefix,
  whenReady,
} from '../../support/redis.js';

// Only under `npm run test:cluster`: the rest of that suite proves the stores; this proves the
// suite really runs on a cluster, and what only a cluster has (several primaries).
describe.skipIf(!TEST_REDIS_IS_CLUSTER)('on Redis Cluster (npm run test:cluster)', () => {
  let redis: RedisClient;
  const prefix = uniquePrefix('cluster');

  beforeAll(async () => {
    redis = testRedis();
    await whenReady(redis);
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(prefix);
    redis.disconnect();
  });

  it('hands out cluster connections that see three primaries, and refuses a cross-slot script', async () => {
    expect(redis).toBeInstanceOf(Cluster);
    expect(primaries(redis)).toHaveLength(3);
    await expect(
      redis.eval("return redis.call('GET', KEYS[1])", 2, `${prefix}:{a}`, `${prefix}:{b}`),
    ).rejects.toThrow(/CROSSSLOT/);
  });

  it('warns about the eviction policy of each primary, naming the node', async () => {
    const [, second] = primaries(redis);
    const log = new LogCapture();
    expect(await checkEvictionPolicy(redis, createLogger('info', log))).toBeUndefined();
    await second!.config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      const warning = await checkEvictionPolicy(redis, createLogger('info', log));
      expect(warning).toContain(`127.0.0.1:${second!.options.port}`);
      expect(warning).toContain('allkeys-lru');
      expect(log.text()).toContain('allkeys-lru');
    } finally {
      await second!.config('SET', 'maxmemory-policy', 'noeviction');
    }
  });

  it('runs BullMQ queues, workers and queue events over the cluster with the hash-tagged prefix', async () => {
    const connections = [testRedis('worker'), testRedis('worker'), testRedis('worker')] as const;
    const queue = new Queue('cluster-jobs', { connection: connections[0], prefix: bullmqPrefix(prefix) });
    const events = new QueueEvents('cluster-jobs', {
      connection: connections[1],
      prefix: bullmqPrefix(prefix),
      // From the stream's start, not '$': a job finishing after waitUntilFinished's first look
      // but before the reader's first XREAD would otherwise be missed (seen under full CPU load).
      // The prefix is this test's own.
      lastEventId: '0-0',
    });
    const worker = new Worker('cluster-jobs', async (job) => (job.data as { n: number }).n * 2, {
      connection: connections[2],
      prefix: bullmqPrefix(prefix),
    });
    try {
      await events.waitUntilReady();
      const jobs = await queue.addBulk(
        Array.from({ length: 20 }, (_, n) => ({ name: 'double', data: { n } })),
      );
      const results = await Promise.all(jobs.map((job) => job.waitUntilFinished(events, 20_000)));
      expect(results).toEqual(Array.from({ length: 20 }, (_, n) => n * 2));
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
      for (const c of connections) c.disconnect();
    }
  });
});
