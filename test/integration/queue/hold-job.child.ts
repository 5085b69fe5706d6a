/**
 * A worker that takes one job and never finishes it, with Shipgate's liveness settings: the
 * parent kills it with SIGKILL mid-job, as a crashed or OOM-killed worker pod would be.
 * argv: redis url, queue prefix, queue name.
 */
import { Worker } from 'bullmq';
import { WORKER_LIVENESS } from '../../../src/queue/worker-liveness.js';
import { bullmqPrefix } from '../../../src/queue/bullmq-prefix.js';
import { createRedisConnection } from '../../../src/redis/connection.js';

const [url, prefix, queue] = process.argv.slice(2) as [string, string, string];
new Worker(
  queue,
  async (job) => {
    process.stdout.write(`took ${job.id}\n`);
    await new Promise(() => {});
  },
  {
    // Shipgate's own worker connection, so a redis+cluster:// URL works too.
    connection: createRedisConnection(url, 'worker'),
    prefix: bullmqPrefix(prefix),
    ...WORKER_LIVENESS,
  },
);
