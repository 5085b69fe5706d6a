import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { WORKER_LIVENESS } from '../../../src/queue/worker-liveness.js';
import { TEST_REDIS_URL, deleteKeysWithPrefix, testRedis, uniquePrefix } from '../../support/redis.js';
import { bullmqPrefix } from '../../../src/queue/bullmq-prefix.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'hold-job.child.ts');
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a worker killed in the middle of a job', () => {
  it('has its job taken up by another worker within 10 s', async () => {
    const prefix = uniquePrefix('liveness');
    const queueName = 'gate';
    const queue = new Queue(queueName, {
      connection: testRedis(),
      prefix: bullmqPrefix(prefix),
    });
    cleanups.push(
      () => deleteKeysWithPrefix(prefix),
      () => queue.close(),
    );
    await queue.add('work', { n: 1 }, { jobId: 'job-1' });

    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, TEST_REDIS_URL, prefix, queueName], {
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    cleanups.push(async () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('took job-1')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`holding worker exited early (${code})`)));
    });

    // kill -9: no graceful close, the lock is left to lapse.
    process.kill(-child.pid!, 'SIGKILL');
    const killedAt = Date.now();

    const resumed = new Promise<number>((resolve) => {
      const survivor = new Worker(
        queueName,
        async () => {
          resolve(Date.now() - killedAt);
        },
        {
          connection: testRedis(),
          prefix: bullmqPrefix(prefix),
          ...WORKER_LIVENESS,
        },
      );
      cleanups.push(() => survivor.close());
    });
    const resumedAfterMs = await resumed;
    expect(resumedAfterMs).toBeLessThan(10_000);
    // It came back as a stalled job, not as a fresh one.
    const job = await queue.getJob('job-1');
    expect(job?.stalledCounter).toBe(1);
  }, 30_000);
});
