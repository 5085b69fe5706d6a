import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { RedisUnavailable, WebhookEnqueueTimeout } from '../errors.js';
import { WEBHOOK_JOB_OPTIONS } from '../queue/job-options.js';
import { WEBHOOK_JOB_NAME, type WebhookJob } from './webhook-job.js';

/** GitHub lets a delivery be redelivered for 3 days; keep the marker a little longer. */
export const DEDUPE_TTL_SECONDS = 4 * 24 * 3600;

/** Bound on the whole enqueue, so a slow or wedged Redis becomes a 503, never a hang. @defaultValue 3000 */
export const DEFAULT_ENQUEUE_TIMEOUT_MS = 3000;

export type EnqueueOutcome = 'accepted' | 'duplicate';

export interface EnqueueDeliveryOptions {
  producer: Redis;
  queue: Queue;
  prefix: string;
  /** `deliveryKey(headers)`: the job id and the dedupe key suffix. */
  key: string;
  job: WebhookJob;
  timeoutMs?: number;
}

export function dedupeKey(prefix: string, key: string): string {
  return `${prefix}:ingress:delivery:${key}`;
}

/**
 * Durably queues a verified delivery exactly once, in one round trip to Redis.
 *
 * Two commands are pipelined (sent together, no wait in between):
 * 1. `queue.add` with the deterministic job id and BullMQ deduplication on the same key for
 *    `DEDUPE_TTL_SECONDS`. Inside BullMQ's add script, the dedupe key is set atomically with the
 *    job, so concurrent and later duplicates never make a second job, even after the job itself
 *    was completed and removed.
 * 2. `SET marker NX EX`: only labels the answer. The request that sets it answers 202, the
 *    others 200 duplicate.
 *
 * 2xx is answered only when `add` succeeded, i.e. the job is in Redis. If `add` fails after the
 * marker was set, GitHub gets a 503; its redelivery runs `add` again (it always runs) and gets a
 * 200 "duplicate" for a job that now exists: the label can be wrong in that corner, the queue
 * never is.
 */
export async function enqueueDelivery(options: EnqueueDeliveryOptions): Promise<EnqueueOutcome> {
  const { producer, queue, prefix, key, job } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_ENQUEUE_TIMEOUT_MS;
  const marker = dedupeKey(prefix, key);
  const work = (async (): Promise<EnqueueOutcome> => {
    const set = producer.set(marker, job.receivedAt, 'EX', DEDUPE_TTL_SECONDS, 'NX');
    const added = queue.add(WEBHOOK_JOB_NAME, job, {
      ...WEBHOOK_JOB_OPTIONS,
      jobId: key,
      deduplication: { id: key, ttl: DEDUPE_TTL_SECONDS * 1000 },
    });
    // Settle both before deciding, so neither rejection goes unobserved.
    const [setResult, addResult] = await Promise.allSettled([set, added]);
    if (addResult.status === 'rejected') throw addResult.reason;
    if (setResult.status === 'rejected') throw setResult.reason;
    return setResult.value === 'OK' ? 'accepted' : 'duplicate';
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(WebhookEnqueueTimeout(timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([work, timeout]);
  } catch (err) {
    if (WebhookEnqueueTimeout.is(err)) {
      // The abandoned attempt may still finish; keep its rejection from going unhandled.
      work.catch(() => {});
      throw err;
    }
    throw RedisUnavailable((err as Error).message.slice(0, 200), { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
