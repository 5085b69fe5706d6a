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
 * Durably queues a verified delivery exactly once.
 *
 * 1. A dedupe marker already set → `duplicate` (the job was queued before, maybe long gone).
 * 2. `queue.add` with the deterministic job id: concurrent duplicates collapse into one job,
 *    because BullMQ's add script does nothing when the job id exists.
 * 3. `SET marker NX EX`: the request that sets it answers 202, the others 200 duplicate.
 *
 * The marker is written only after the job is in Redis: if Redis fails in between, GitHub gets
 * a 503 and a redelivery may queue a second job (at-least-once), which is safer than a marker
 * without a job (a lost delivery). Consumers key their side effects on `deliveryId`.
 */
export async function enqueueDelivery(options: EnqueueDeliveryOptions): Promise<EnqueueOutcome> {
  const { producer, queue, prefix, key, job } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_ENQUEUE_TIMEOUT_MS;
  const marker = dedupeKey(prefix, key);
  const work = (async (): Promise<EnqueueOutcome> => {
    if ((await producer.exists(marker)) === 1) return 'duplicate';
    await queue.add(WEBHOOK_JOB_NAME, job, { ...WEBHOOK_JOB_OPTIONS, jobId: key });
    const set = await producer.set(marker, job.receivedAt, 'EX', DEDUPE_TTL_SECONDS, 'NX');
    return set === 'OK' ? 'accepted' : 'duplicate';
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
