/**
 * What the Cluster and Sentinel failover tests (cluster-failover.test.ts,
 * sentinel-failover.test.ts) share: the webhook queue on a failover-capable Redis, a stream of
 * enqueues with the primary killed in the middle, and the checks that the outage was felt, was
 * bounded, and lost nothing. Only how the primary is found and killed differs between them.
 */
import { Queue } from 'bullmq';
import { expect } from 'vitest';
import { isShipgateError } from '../../../src/errors.js';
import { bullmqPrefix } from '../../../src/queue/bullmq-prefix.js';
import { createRedisConnection, waitUntilReady, type RedisClient } from '../../../src/redis/connection.js';
import { createDeliveryEnqueuer, type DeliveryEnqueuer } from '../../../src/webhooks/enqueue-delivery.js';
import { tagPushJob } from '../../support/tag-push-job.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface WebhookQueueOnRedis {
  producer: RedisClient;
  queue: Queue;
  enqueuer: DeliveryEnqueuer;
  close(): Promise<void>;
}

/**
 * The ingress's producer, webhook queue and enqueuer on `url`, ready. Short command and enqueue
 * timeouts, so an enqueue to a dead primary fails (503) instead of hanging through the failover.
 */
export async function openWebhookQueue(url: string, prefix: string): Promise<WebhookQueueOnRedis> {
  const producer = createRedisConnection(url, 'producer', { commandTimeoutMs: 1000 });
  const queue = new Queue('webhook', { connection: producer, prefix: bullmqPrefix(prefix) });
  const close = async () => {
    await queue.close().catch(() => undefined);
    producer.disconnect();
  };
  try {
    await waitUntilReady(producer, 20_000);
    await queue.waitUntilReady();
  } catch (err) {
    await close();
    throw err;
  }
  const enqueuer = createDeliveryEnqueuer({ producer, queue, timeoutMs: 1500 });
  return { producer, queue, enqueuer, close };
}

export interface FailoverStream {
  accepted: string[];
  refused: string[];
  killedAt: number;
  /** When the first enqueue after the kill was accepted (0 if none was). */
  resumedAt: number;
}

/**
 * Enqueues deliveries `gh-0`, `gh-1`, … one after another; before the 21st, `killPrimary` takes
 * the primary down. Goes on until 20 are accepted after the kill, or `giveUpAfterMs` past it.
 * Every refusal must be the ingress's 503 (GitHub records a failed delivery and redelivers it).
 */
export async function enqueueThroughFailover(
  enqueuer: DeliveryEnqueuer,
  killPrimary: () => Promise<void>,
  giveUpAfterMs: number,
): Promise<FailoverStream> {
  const accepted: string[] = [];
  const refused: string[] = [];
  let killedAt = 0;
  let resumedAt = 0;
  let acceptedAfterKill = 0;
  for (let i = 0; acceptedAfterKill < 20; i += 1) {
    if (i === 20) {
      await killPrimary();
      killedAt = Date.now();
    }
    if (killedAt > 0 && Date.now() - killedAt > giveUpAfterMs) break;
    const id = `gh-${i}`;
    try {
      await enqueuer.enqueue(id, tagPushJob(id));
      accepted.push(id);
      if (killedAt > 0) {
        acceptedAfterKill += 1;
        resumedAt ||= Date.now();
      }
    } catch (err) {
      expect(isShipgateError(err) && err.statusCode === 503, String(err)).toBe(true);
      refused.push(id);
      await sleep(100);
    }
  }
  return { accepted, refused, killedAt, resumedAt };
}

/** The kill was felt (some deliveries refused), and enqueues resumed within `maxOutageMs`. */
export function expectOutageFeltAndBounded(stream: FailoverStream, maxOutageMs: number): void {
  expect(stream.accepted.length).toBeGreaterThanOrEqual(40);
  expect(stream.refused.length).toBeGreaterThan(0);
  expect(stream.resumedAt - stream.killedAt).toBeGreaterThan(0);
  expect(stream.resumedAt - stream.killedAt).toBeLessThan(maxOutageMs);
}

/**
 * GitHub's redelivery of each refused delivery is taken now (or found taken, when the 503 came
 * after the write); then the queue holds every accepted and redelivered job, each once.
 */
export async function expectRedeliveredNothingLost(
  { enqueuer, queue }: WebhookQueueOnRedis,
  stream: FailoverStream,
): Promise<void> {
  for (const id of stream.refused) {
    expect(['accepted', 'duplicate']).toContain(await enqueuer.enqueue(id, tagPushJob(id)));
  }
  const jobs = await queue.getJobs(['waiting'], 0, -1);
  expect(jobs.map((j) => j.id).sort()).toEqual([...stream.accepted, ...stream.refused].sort());
}
