import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import { RedisUnavailable, WebhookEnqueueTimeout } from '../errors.js';
import { WEBHOOK_JOB_OPTIONS } from '../queue/job-options.js';
import { WEBHOOK_JOB_NAME, type WebhookJob } from './webhook-job.js';

/** Bound on a batch, on top of the producer's per-command timeout. @defaultValue 3000 */
export const DEFAULT_ENQUEUE_TIMEOUT_MS = 3000;
/** Deliveries per `addBulk`: enough to fill one socket write, small enough to keep p99 flat. */
export const DEFAULT_MAX_BATCH = 256;

/**
 * `accepted`: the delivery's job is in Redis (queued by this request, or finished earlier and
 * acknowledged again: a redelivery of finished work is not re-run).
 * `duplicate`: the same delivery was already waiting or running, so this copy added nothing.
 */
export type EnqueueOutcome = 'accepted' | 'duplicate';

export interface DeliveryEnqueuerOptions {
  /** The producer connection the queue uses (no offline queue, a command timeout). */
  producer: RedisClient;
  queue: Queue;
  /** @defaultValue 3000 */
  timeoutMs?: number;
  /** @defaultValue 256 */
  maxBatch?: number;
}

/**
 * The marker key the first ingress wrote beside each job to label its answer. Nothing writes it
 * any more (the job id is the one dedupe, see `createDeliveryEnqueuer`); leftover markers expire
 * by themselves. Kept so a test can show that dedupe never depended on it.
 */
export function dedupeKey(prefix: string, key: string): string {
  return `${prefix}:ingress:delivery:${key}`;
}

// One read per batch, sent ahead of the adds on the same connection (Redis runs a connection's
// commands in order): which jobs already exist and are not finished. It only labels answers.
const PENDING_SCRIPT = `
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = (redis.call('EXISTS', key) == 1 and redis.call('HEXISTS', key, 'finishedOn') == 0) and 1 or 0
end
return out`;

interface Waiter {
  resolve(outcome: EnqueueOutcome): void;
  reject(err: Error): void;
}

interface Slot {
  key: string;
  job: WebhookJob;
  /** The request that brought the delivery first, then copies that arrived while it was in flight. */
  waiters: Waiter[];
}

export interface DeliveryEnqueuer {
  /** Resolves once the job is in Redis; rejects with a 503 error when its batch fails or is late. */
  enqueue(key: string, job: WebhookJob): Promise<EnqueueOutcome>;
}

type PendingCommand = (keys: number, ...args: string[]) => Promise<number[]>;

/**
 * Group commit. Deliveries verified in the same turn of the event loop go to Redis together:
 * one `addBulk` (one pipeline, one socket write), flushed on `setImmediate` or when the batch
 * reaches `maxBatch`. Each request still gets its own answer, and only after its own job is in
 * Redis: a failed or late batch rejects every request in it (GitHub records a failed delivery,
 * the redelivery sweep recovers it), so no request is ever told 202 without its job.
 *
 * Dedupe is the deterministic job id alone. BullMQ's add script does nothing when a job with
 * that id exists, and finished jobs are kept past GitHub's redelivery window
 * (`WEBHOOK_JOB_OPTIONS`). Copies of a delivery that is already in flight in this process wait
 * for it instead of taking a slot of their own.
 *
 * No timer per request: the producer's command timeout bounds each Redis call, and one timer per
 * batch bounds the whole (an answer to a late batch is ignored; its jobs, if they land, are kept).
 */
export function createDeliveryEnqueuer(options: DeliveryEnqueuerOptions): DeliveryEnqueuer {
  const { producer, queue } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_ENQUEUE_TIMEOUT_MS;
  const maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH;
  if (!('shipgatePendingJobs' in producer)) {
    producer.defineCommand('shipgatePendingJobs', { lua: PENDING_SCRIPT });
  }
  const pendingJobs = (
    producer as unknown as { shipgatePendingJobs: PendingCommand }
  ).shipgatePendingJobs.bind(producer);
  /** Every delivery not yet settled, in the forming batch or in flight. */
  const inFlight = new Map<string, Slot>();
  let forming: Slot[] = [];
  let scheduled = false;

  function flush(): void {
    scheduled = false;
    const batch = forming;
    forming = [];
    if (batch.length > 0) void commit(batch);
  }

  async function commit(batch: Slot[]): Promise<void> {
    let settled = false;
    const settle = (outcomes: EnqueueOutcome[] | Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      batch.forEach((slot, i) => {
        inFlight.delete(slot.key);
        slot.waiters.forEach((w, j) => {
          if (outcomes instanceof Error) w.reject(outcomes);
          else w.resolve(j === 0 ? outcomes[i]! : 'duplicate');
        });
      });
    };
    const deadline = setTimeout(() => settle(WebhookEnqueueTimeout(timeoutMs)), timeoutMs);
    try {
      const labels = pendingJobs(batch.length, ...batch.map((s) => queue.toKey(s.key)));
      const added = queue.addBulk(
        batch.map((s) => ({
          name: WEBHOOK_JOB_NAME,
          data: s.job,
          opts: { ...WEBHOOK_JOB_OPTIONS, jobId: s.key },
        })),
      );
      // Settle both before deciding, so neither rejection goes unobserved.
      const [pending, adds] = await Promise.allSettled([labels, added]);
      if (adds.status === 'rejected') throw adds.reason;
      settle(
        pending.status === 'fulfilled'
          ? pending.value.map((p) => (p === 1 ? 'duplicate' : 'accepted'))
          : batch.map(() => 'accepted'),
      );
    } catch (err) {
      settle(RedisUnavailable(String((err as Error).message).slice(0, 200), { cause: err }));
    }
  }

  return {
    enqueue(key, job) {
      return new Promise<EnqueueOutcome>((resolve, reject) => {
        const waiter = { resolve, reject };
        const existing = inFlight.get(key);
        if (existing !== undefined) {
          existing.waiters.push(waiter);
          return;
        }
        const slot: Slot = { key, job, waiters: [waiter] };
        inFlight.set(key, slot);
        forming.push(slot);
        if (forming.length >= maxBatch) flush();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
}
