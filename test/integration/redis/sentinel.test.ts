import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { bullmqPrefix } from '../../../src/queue/bullmq-prefix.js';
import { createRedisConnection, type RedisClient } from '../../../src/redis/connection.js';
import { RunStore } from '../../../src/runs/run-store.js';
import { startRedisSentinel, type TestRedisSentinel } from '../../support/redis-sentinel.js';

describe('REDIS_URL=redis+sentinel://… (a real primary and Sentinel)', () => {
  let sentinel: TestRedisSentinel;
  const opened: RedisClient[] = [];
  const connect = (kind: 'producer' | 'worker') => {
    const c = createRedisConnection(sentinel.url, kind);
    opened.push(c);
    return c;
  };

  beforeAll(async () => {
    sentinel = await startRedisSentinel();
  });
  afterAll(async () => {
    for (const c of opened) c.disconnect();
    await sentinel?.stop();
  });

  it('finds the primary through the Sentinel and authenticates to it', async () => {
    const redis = connect('worker');
    await redis.set('sentinel-probe', 'ok');
    expect(await redis.get('sentinel-probe')).toBe('ok');
    const info = await redis.info('server');
    expect(info).toContain(`tcp_port:${sentinel.primaryPort}`);
  });

  it('runs the run store and a BullMQ queue through it', async () => {
    const store = new RunStore(connect('worker'), { prefix: 'sentinel:runs' });
    const { run } = await store.createRun(
      {
        kind: 'release',
        repo: 'acme/shop',
        installationId: 1,
        sha: 'a'.repeat(40),
        ref: 'refs/tags/v1.0.0',
        tag: 'v1.0.0',
        releaser: 'octocat',
      },
      { idempotencyKey: 'release:acme/shop:v1.0.0' },
    );
    expect(await store.transition(run.id, { from: 'queued', to: 'gating' })).toMatchObject({ ok: true });
    expect((await store.listRuns({ state: 'gating' })).runs.map((r) => r.id)).toEqual([run.id]);

    const queue = new Queue('sentinel-jobs', {
      connection: connect('worker'),
      prefix: bullmqPrefix('sentinel'),
    });
    const events = new QueueEvents('sentinel-jobs', {
      connection: connect('worker'),
      prefix: bullmqPrefix('sentinel'),
    });
    const worker = new Worker('sentinel-jobs', async () => 'done', {
      connection: connect('worker'),
      prefix: bullmqPrefix('sentinel'),
    });
    try {
      await events.waitUntilReady();
      const job = await queue.add('one', {});
      expect(await job.waitUntilFinished(events, 10_000)).toBe('done');
    } finally {
      await worker.close();
      await events.close();
      await queue.close();
    }
  });
});
