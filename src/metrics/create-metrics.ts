import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { untilAborted } from '../retry/until-aborted.js';

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
  | 'aborted'
  | 'error';

export interface Metrics {
  /** One registry per process (and per test server), so tests never share counters. */
  registry: Registry;
  webhookRequests: Counter<'event' | 'outcome'>;
  webhookDuration: Histogram<'outcome'>;
  queueJobs: Gauge<'queue' | 'state'>;
  redeliveries: Counter<'outcome'>;
  redeliveryGiveUps: Counter;
  /** Jobs BullMQ found stalled (a worker died or blocked mid-job); they are retried. */
  jobsStalled: Counter<'queue'>;
  /** How long each gate took, by conclusion. */
  gateDuration: Histogram<'gate' | 'conclusion'>;
  /** Environment deploys by outcome (succeeded, rolled-back, failed). */
  deploys: Counter<'environment' | 'outcome'>;
  /** Automated rollbacks: which app, where, and which gate failed. */
  rollbacks: Counter<'app' | 'environment' | 'gate'>;
  /** 1 when Redis answers a PING at scrape time, else 0. */
  redisUp: Gauge;
  /** Reports `shipgate_redis_up` from this connection at scrape time. */
  watchRedis(redis: { ping(): Promise<unknown> }): void;
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
          try {
            // ioredis commands take no signal; the scrape stops waiting, the command ends on its own.
            const counts = await untilAborted(
              queue.getJobCounts(...QUEUE_STATES),
              AbortSignal.timeout(QUEUE_SCRAPE_TIMEOUT_MS),
            );
            for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
          } catch {
            // Redis is down: /readyz says so; stale depth is dropped rather than reported as current.
            for (const state of QUEUE_STATES) this.remove({ queue: queue.name, state });
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

  const jobsStalled = new Counter({
    name: 'shipgate_jobs_stalled_total',
    help: 'Jobs found stalled (their worker died or blocked); BullMQ retries them',
    labelNames: ['queue'] as const,
    registers: [registry],
  });
  const gateDuration = new Histogram({
    name: 'shipgate_gate_duration_seconds',
    help: 'Duration of gate executions (tests, trivy, zap, manifests) by conclusion',
    labelNames: ['gate', 'conclusion'] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
    registers: [registry],
  });
  const deploys = new Counter({
    name: 'shipgate_deploys_total',
    help: 'Environment deploys by outcome',
    labelNames: ['environment', 'outcome'] as const,
    registers: [registry],
  });
  const rollbacks = new Counter({
    name: 'shipgate_rollbacks_total',
    help: 'Automated rollbacks (Rollout aborted and git reverted) by app, environment and failed gate',
    labelNames: ['app', 'environment', 'gate'] as const,
    registers: [registry],
  });
  let redisProbe: { ping(): Promise<unknown> } | undefined;
  const redisUp = new Gauge({
    name: 'shipgate_redis_up',
    help: '1 when Redis answers a PING within 1 s at scrape time, else 0',
    registers: [registry],
    async collect() {
      if (!redisProbe) return;
      try {
        await untilAborted(redisProbe.ping(), AbortSignal.timeout(QUEUE_SCRAPE_TIMEOUT_MS));
        this.set(1);
      } catch {
        this.set(0);
      }
    },
  });
  return {
    registry,
    jobsStalled,
    gateDuration,
    deploys,
    rollbacks,
    redisUp,
    watchRedis(redis) {
      redisProbe = redis;
    },
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
