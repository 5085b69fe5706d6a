import { Queue, Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { createRedisConnection } from '../../../src/redis/connection.js';
import { closeWorker, createShutdown } from '../../../src/shutdown.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../../support/redis.js';
import { LogCapture } from './ingress-harness.js';
import { bullmqPrefix } from '../../../src/queue/bullmq-prefix.js';

const prefixes: string[] = [];
afterEach(async () => {
  for (const p of prefixes.splice(0)) await deleteKeysWithPrefix(p);
});

describe('graceful shutdown', () => {
  it('closes a worker whose job never ends within our own timeout (bullmq#2237)', async () => {
    const prefix = uniquePrefix('shutdown');
    prefixes.push(prefix);
    const producer = createRedisConnection(TEST_REDIS_URL, 'worker');
    const connection = createRedisConnection(TEST_REDIS_URL, 'worker');
    const queue = new Queue('test', { connection: producer, prefix: bullmqPrefix(prefix) });
    let started!: () => void;
    const jobStarted = new Promise<void>((r) => (started = r));
    const worker = new Worker(
      'test',
      async () => {
        started();
        await new Promise(() => {}); // a job that hangs forever
      },
      { connection, prefix: bullmqPrefix(prefix) },
    );
    try {
      await queue.add('hang', {});
      await jobStarted;
      const log = new LogCapture();
      const t0 = Date.now();
      await closeWorker(worker, 300, createLogger('info', log));
      expect(Date.now() - t0).toBeLessThan(3000);
      expect(log.text()).toContain('force-closing');
    } finally {
      await queue.close();
      producer.disconnect();
      connection.disconnect();
    }
  });

  it('runs the steps in order, bounds each one, and keeps going after a failure', async () => {
    const log = new LogCapture();
    const order: string[] = [];
    const exits: number[] = [];
    const shutdown = createShutdown(createLogger('info', log), (code) => exits.push(code));
    shutdown.add({ name: 'http', run: async () => void order.push('http') });
    shutdown.add({ name: 'stuck', timeoutMs: 100, run: () => new Promise<void>(() => order.push('stuck')) });
    shutdown.add({ name: 'broken', run: async () => { order.push('broken'); throw new Error('x'); } }); // prettier-ignore
    shutdown.add({ name: 'redis', run: async () => void order.push('redis') });
    const uninstall = shutdown.installSignalHandlers(['SIGUSR2']);
    try {
      process.kill(process.pid, 'SIGUSR2');
      const deadline = Date.now() + 3000;
      while (exits.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(order).toEqual(['http', 'stuck', 'broken', 'redis']);
      expect(exits).toEqual([1]); // not clean: one step timed out, one failed
      expect(log.text()).toContain('shutdown step timed out');
      expect(await shutdown.run('again')).toBe(false); // idempotent
    } finally {
      uninstall();
    }
  });
});
