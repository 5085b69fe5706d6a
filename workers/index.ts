import { UnrecoverableError, Worker, type Job } from 'bullmq';
import type { RedisClient } from '../src/redis/connection.js';
import type { Config } from '../src/config.js';
import type { EngineTuning } from '../src/engine/context/create-engine-context.js';
import type { Logger } from '../src/logger.js';
import type { Metrics } from '../src/metrics/create-metrics.js';
import { bullmqPrefix } from '../src/queue/bullmq-prefix.js';
import type { AllQueues } from '../src/queue/create-queues.js';
import type { QueueName } from '../src/queue/names.js';
import { workerLiveness } from '../src/queue/worker-liveness.js';
import { RunTraceStore, traceJob } from '../src/telemetry/trace-job.js';
import { APPROVAL_WORKERS } from './approval-workers.js';
import { ENGINE_WORKERS } from './engine-workers.js';
import { recoveryWorker } from './recovery-worker.js';
import { redeliveryWorker } from './redelivery-worker.js';

/** What every worker gets. Secrets stay in `config`; job data never carries them. */
export interface WorkerContext {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  /** Producer connection (non-blocking commands: keys, locks, counters). */
  producer: RedisClient;
  /** A new worker-kind connection; BullMQ blocks on it, so each Worker gets its own. */
  createConnection: () => RedisClient;
  /** Every queue (producer side), to enqueue follow-up jobs. */
  queues: AllQueues;
  /** Engine tuning that is not configuration (tests drop GitHub's write spacing with it). */
  engineTuning?: EngineTuning;
}

/** What BullMQ hands the processor besides the job: its lock token and its cancellation. */
export interface JobRun {
  token?: string | undefined;
  signal?: AbortSignal | undefined;
}

export type JobHandler = (job: Job, ctx: WorkerContext, run: JobRun) => Promise<unknown>;

/** Runs once when BullMQ fails a job for good (its last attempt, or an unrecoverable error). */
export type GivenUpHandler = (job: Job, err: Error, ctx: WorkerContext) => Promise<void>;

/**
 * One queue's work. Several specs may name the same queue (e.g. `maintenance`): they share one
 * BullMQ Worker that dispatches on the job name. The handler key `*` takes any other name.
 */
export interface WorkerSpec {
  queue: QueueName;
  handlers: Record<string, JobHandler>;
  /** @defaultValue 1 */
  concurrency?: number;
  /** Repeatable schedules to upsert when workers start (idempotent). */
  schedule?: (ctx: WorkerContext) => Promise<void>;
  /**
   * Called on the worker's `failed` event when the failure is final, for this spec's job names.
   * It sees failures no handler does: BullMQ fails a job that "stalled more than allowable
   * limit" before the processor runs, so only this hook can report it.
   */
  onGivenUp?: GivenUpHandler;
}

/** The registry: adding a queue worker is one line here. */
export const WORKERS: readonly WorkerSpec[] = [
  redeliveryWorker,
  recoveryWorker,
  ...ENGINE_WORKERS,
  ...APPROVAL_WORKERS,
];

/** Creates one BullMQ Worker per queue named in `specs`. They start processing at once. */
export function createWorkers(ctx: WorkerContext, specs: readonly WorkerSpec[] = WORKERS): Worker[] {
  const byQueue = new Map<
    QueueName,
    { handlers: Record<string, JobHandler>; givenUp: Record<string, GivenUpHandler>; concurrency: number }
  >();
  for (const spec of specs) {
    const entry = byQueue.get(spec.queue) ?? { handlers: {}, givenUp: {}, concurrency: 1 };
    for (const [name, handler] of Object.entries(spec.handlers)) {
      if (entry.handlers[name] !== undefined) throw new Error(`two handlers for ${spec.queue}/${name}`);
      entry.handlers[name] = handler;
      if (spec.onGivenUp) entry.givenUp[name] = spec.onGivenUp;
    }
    entry.concurrency = Math.max(entry.concurrency, spec.concurrency ?? 1);
    byQueue.set(spec.queue, entry);
  }
  const runTraces = new RunTraceStore(ctx.producer, ctx.config.queuePrefix);
  return [...byQueue].map(([queue, { handlers, givenUp, concurrency }]) => {
    const log = ctx.logger.child({ queue });
    const worker = new Worker(
      queue,
      // Three parameters: BullMQ then passes the job's AbortSignal (Worker.cancelJob).
      async (job, token, signal) => {
        const handler = handlers[job.name] ?? handlers['*'];
        // A job nobody handles can never succeed: fail it once instead of retrying.
        if (handler === undefined) throw new UnrecoverableError(`no handler for job ${job.name}`);
        return traceJob(job, { runTraces }, () => handler(job, ctx, { token, signal }));
      },
      {
        connection: ctx.createConnection(),
        prefix: bullmqPrefix(ctx.config.queuePrefix),
        concurrency,
        ...workerLiveness(queue),
      },
    );
    worker.on('failed', (job, err) => {
      log.warn(
        { jobId: job?.id, job: job?.name, attempt: job?.attemptsMade, code: (err as { code?: string }).code },
        `job failed: ${err.message}`,
      );
      // BullMQ sets finishedOn only when the job moved to `failed` for good (no retry left).
      const onGivenUp = job === undefined ? undefined : (givenUp[job.name] ?? givenUp['*']);
      if (job === undefined || job.finishedOn === undefined || onGivenUp === undefined) return;
      onGivenUp(job, err, ctx).catch((hookErr: unknown) =>
        log.error({ jobId: job.id, err: hookErr }, 'could not report a job given up on'),
      );
    });
    worker.on('error', (err) => log.error({ err }, 'worker error'));
    // A job whose lock could not be renewed (this process was starved past lockDuration) may
    // already be running on another worker: stop ours through its AbortSignal, so the two do not
    // race each other's side effects. The other worker resumes from the step ledger.
    worker.on('lockRenewalFailed', (jobIds) => {
      for (const jobId of jobIds) {
        if (worker.cancelJob(jobId, 'lost its lock: another worker may have taken the job'))
          log.warn({ jobId }, 'job lock lost: this attempt is cancelled');
      }
    });
    worker.on('stalled', (jobId) => {
      ctx.metrics.jobsStalled.inc({ queue });
      log.warn({ jobId }, 'job stalled: its worker died or blocked; it will be retried');
    });
    return worker;
  });
}

/** Upserts every spec's repeatable schedules. */
export async function startSchedules(
  ctx: WorkerContext,
  specs: readonly WorkerSpec[] = WORKERS,
): Promise<void> {
  for (const spec of specs) await spec.schedule?.(ctx);
}
