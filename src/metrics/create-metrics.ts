import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Job states reported by `shipgate_queue_jobs`. */
export const QUEUE_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'failed',
  'completed',
  'paused',
] as const;

/** Bound on a queue-depth scrape, so /metrics answers even when Redis does not. */
const QUEUE_SCRAPE_TIMEOUT_MS = 1000;

export type WebhookOutcome =
  | 'accepted'
  | 'duplicate'
  | 'ignored'
  | 'ping'
  | 'unauthorized'
  | 'bad_request'
  | 'too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable'
  | 'error';

export interface Metrics {
  /** One registry per process (and per test server), so tests never share counters. */
  registry: Registry;
  webhookRequests: Counter<'event' | 'outcome'>;
  webhookDuration: Histogram<'outcome'>;
  queueJobs: Gauge<'queue' | 'state'>;
  redeliveries: Counter<'outcome'>;
  redeliveryGiveUps: Counter;
  /** Adds queues whose depth `shipgate_queue_jobs` reports at scrape time. */
  watchQueues(queues: Iterable<Queue>): void;
}

/**
 * Creates the registry with process metrics and Shipgate's ingress metrics. Other parts
 * register theirs on `metrics.registry` (`new Counter({ ..., registers: [metrics.registry] })`).
 */
export function createMetrics(options: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'shipgate_' });
  // Keyed by name: `start` runs serve and work, which both watch the same queues.
  const watched = new Map<string, Queue>();

  const webhookRequests = new Counter({
    name: 'shipgate_webhook_requests_total',
    help: 'GitHub webhook requests by event and outcome',
    labelNames: ['event', 'outcome'] as const,
    registers: [registry],
  });
  const webhookDuration = new Histogram({
    name: 'shipgate_webhook_duration_seconds',
    help: 'Time from request to answer on POST /webhooks/github',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const queueJobs = new Gauge({
    name: 'shipgate_queue_jobs',
    help: 'Jobs per queue and state, read from Redis at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      await Promise.all(
        [...watched.values()].map(async (queue) => {
          let timer: NodeJS.Timeout | undefined;
          try {
            const counts = await Promise.race([
              queue.getJobCounts(...QUEUE_STATES),
              new Promise<never>((_, reject) => {
                timer = setTimeout(() => reject(new Error('timeout')), QUEUE_SCRAPE_TIMEOUT_MS);
              }),
            ]);
            for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
          } catch {
            // Redis is down: /readyz says so; stale depth is dropped rather than reported as current.
            for (const state of QUEUE_STATES) this.remove({ queue: queue.name, state });
          } finally {
            clearTimeout(timer);
          }
        }),
      );
    },
  });
  const redeliveries = new Counter({
    name: 'shipgate_redeliveries_total',
    help: 'Missed GitHub deliveries whose redelivery Shipgate requested, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const redeliveryGiveUps = new Counter({
    name: 'shipgate_redelivery_give_ups_total',
    help: 'Failed GitHub deliveries Shipgate stopped redelivering after the per-delivery bound',
    registers: [registry],
  });

  return {
    registry,
    webhookRequests,
    webhookDuration,
    queueJobs,
    redeliveries,
    redeliveryGiveUps,
    watchQueues(queues) {
      for (const q of queues) watched.set(q.name, q);
    },
  };
}
