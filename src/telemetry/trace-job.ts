import { SpanKind, type Attributes, type Link } from '@opentelemetry/api';
import type { RedisClient } from '../redis/connection.js';
import { contextFromTraceparent, isTraceparent, spanContextOf } from './trace-context.js';
import { recordWait, withSpan } from './with-span.js';

/** What the tracing wrapper reads of a BullMQ job. */
export interface TraceableJob {
  id?: string | undefined;
  name: string;
  queueName: string;
  data: unknown;
  /** When the job was added (ms since epoch). */
  timestamp: number;
  processedOn?: number | undefined;
  attemptsMade: number;
}

export interface TraceJobOptions {
  /** Where each run's trace is remembered; without it, jobs only follow their own `traceparent`. */
  runTraces?: RunTraceStore;
  /** Injected clock (ms), for tests. */
  now?: () => number;
}

/** How long a run's trace is remembered: longer than any release waits for an approval. */
const RUN_TRACE_TTL_SECONDS = 30 * 24 * 3600;

/**
 * Remembers the first `traceparent` seen for each run, so every job of the run joins one trace
 * even when it was started outside it: a Slack click or an API call arrives as a new HTTP
 * request with its own trace, which the job then links to instead of parenting.
 */
export class RunTraceStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private key(runId: string): string {
    return `${this.prefix}:trace:run:${runId}`;
  }

  /** The run's trace (the stored one, or `traceparent` when it is the first). */
  async claim(runId: string, traceparent: string): Promise<string> {
    const set = await this.redis.set(this.key(runId), traceparent, 'EX', RUN_TRACE_TTL_SECONDS, 'NX');
    if (set === 'OK') return traceparent;
    const stored = await this.redis.get(this.key(runId));
    return stored !== null && isTraceparent(stored) ? stored : traceparent;
  }

  async get(runId: string): Promise<string | undefined> {
    const stored = await this.redis.get(this.key(runId));
    return stored !== null && isTraceparent(stored) ? stored : undefined;
  }
}

function field(data: unknown, name: string): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const value = (data as Record<string, unknown>)[name];
  return typeof value === 'string' ? value.slice(0, 128) : undefined;
}

/**
 * Runs a job inside a consumer span that continues the trace in its data: `job <queue>/<name>`.
 * The time the job sat in the queue becomes a `wait.queue` event, and a deploy job that found
 * the lock taken records `wait.lock` before it fails for a retry. With tracing off no job
 * carries a `traceparent`, so this does no Redis call and starts only a no-op span.
 */
export async function traceJob<T>(
  job: TraceableJob,
  options: TraceJobOptions,
  fn: () => Promise<T>,
): Promise<T> {
  const now = options.now ?? Date.now;
  const own = field(job.data, 'traceparent');
  const runId = field(job.data, 'runId');
  let parentTp = own !== undefined && isTraceparent(own) ? own : undefined;
  const links: Link[] = [];
  if (parentTp !== undefined && runId !== undefined && options.runTraces !== undefined) {
    const runTp = await options.runTraces.claim(runId, parentTp).catch(() => parentTp!);
    const ownCtx = spanContextOf(parentTp);
    const runCtx = spanContextOf(runTp);
    if (ownCtx && runCtx && ownCtx.traceId !== runCtx.traceId) {
      // Started elsewhere (a click, an API call): join the run's trace, keep a link back.
      links.push({ context: ownCtx, attributes: { 'shipgate.link': 'trigger' } });
      parentTp = runTp;
    }
  }
  const attributes: Attributes = {
    'messaging.system': 'bullmq',
    'messaging.operation.type': 'process',
    'messaging.destination.name': job.queueName,
    'messaging.message.id': job.id ?? '',
    'shipgate.job.attempt': job.attemptsMade + 1,
  };
  if (runId !== undefined) attributes['shipgate.run_id'] = runId;
  const env = field(job.data, 'env');
  if (env !== undefined) attributes['shipgate.env'] = env;
  const stage = field(job.data, 'stage');
  if (stage !== undefined) attributes['shipgate.stage'] = stage;

  return withSpan(
    `job ${job.queueName}/${job.name}`,
    { kind: SpanKind.CONSUMER, attributes, links, parent: contextFromTraceparent(parentTp) },
    async (span) => {
      const started = job.processedOn ?? now();
      recordWait('queue', started - job.timestamp, { 'shipgate.job.attempt': job.attemptsMade + 1 });
      try {
        return await fn();
      } catch (err) {
        if ((err as { code?: unknown }).code === 'SHIPGATE_E_DEPLOY_LOCK_BUSY') {
          span.addEvent('wait.lock', { 'shipgate.wait.ms': now() - started });
        }
        throw err;
      }
    },
  );
}
