import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../redis/connection.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import type { HookDeliveriesClient } from './hook-deliveries-client.js';
import { planRedeliveries } from './plan-redeliveries.js';
import type { HookDelivery } from './schema.js';

export interface SweepLimits {
  /** Pages of 100 listed per sweep. @defaultValue 50 */
  maxPages: number;
  /** Redeliveries requested per sweep; the rest wait for the next one. @defaultValue 100 */
  maxRedeliveriesPerSweep: number;
  /** Redeliveries per guid, ever (counted in Redis for 4 days). @defaultValue 3 */
  maxAttemptsPerGuid: number;
  /** Look-back of a first sweep (no checkpoint yet). @defaultValue 1 hour */
  initialLookbackMs: number;
  /** Re-read this much before the checkpoint: GitHub lists an attempt once it has finished. @defaultValue 10 min */
  overlapMs: number;
}

export const DEFAULT_SWEEP_LIMITS: Readonly<SweepLimits> = Object.freeze({
  maxPages: 50,
  maxRedeliveriesPerSweep: 100,
  maxAttemptsPerGuid: 3,
  initialLookbackMs: 3_600_000,
  overlapMs: 600_000,
});

/** GitHub keeps hook deliveries for 3 days; older ones cannot be redelivered. */
const RETENTION_MS = 3 * 24 * 3_600_000;
const COUNTER_TTL_SECONDS = 4 * 24 * 3600;
const LOCK_TTL_MS = 10 * 60_000;

export interface SweepOptions {
  client: HookDeliveriesClient;
  redis: RedisClient;
  /** `config.queuePrefix`: keys live under `<prefix>:redelivery:`. */
  prefix: string;
  logger: Logger;
  metrics?: Metrics;
  /** Overrides the checkpoint (`shipgate redeliver --since`). */
  since?: Date;
  limits?: Partial<SweepLimits>;
  /** Read through a function for tests. */
  now?: () => Date;
}

export interface SweepResult {
  skipped?: 'locked';
  since: string;
  pages: number;
  scanned: number;
  /** False when the page bound stopped the listing before `since`. */
  complete: boolean;
  failed: number;
  redelivered: string[];
  errors: string[];
  gaveUp: string[];
  /** Left for the next sweep by the per-sweep bound. */
  deferred: number;
  checkpoint: string | null;
}

export function redeliveryKeys(prefix: string) {
  return {
    checkpoint: `${prefix}:redelivery:checkpoint`,
    lock: `${prefix}:redelivery:lock`,
    attempts: (guid: string) => `${prefix}:redelivery:attempts:${guid}`,
  };
}

const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/**
 * GitHub does not redeliver failed deliveries by itself. This lists the App's hook deliveries
 * back to the last checkpoint, and asks GitHub to redeliver each guid that has no successful
 * attempt: at most once per sweep, and at most `maxAttemptsPerGuid` times overall. Guids past
 * that bound are given up on, logged once and counted in `shipgate_redelivery_give_ups_total`.
 * One sweep at a time (a Redis lock), so the periodic job and the CLI cannot double up.
 */
export async function sweepMissedDeliveries(options: SweepOptions): Promise<SweepResult> {
  const { client, redis, logger, metrics } = options;
  const limits = { ...DEFAULT_SWEEP_LIMITS, ...options.limits };
  const now = (options.now ?? (() => new Date()))();
  const keys = redeliveryKeys(options.prefix);

  const stored = await redis.get(keys.checkpoint);
  const checkpoint = stored === null ? undefined : Date.parse(stored);
  let sinceMs =
    options.since?.getTime() ??
    (checkpoint === undefined || Number.isNaN(checkpoint)
      ? now.getTime() - limits.initialLookbackMs
      : checkpoint - limits.overlapMs);
  sinceMs = Math.max(sinceMs, now.getTime() - RETENTION_MS);
  const since = new Date(sinceMs);
  const result: SweepResult = {
    since: since.toISOString(),
    pages: 0,
    scanned: 0,
    complete: false,
    failed: 0,
    redelivered: [],
    errors: [],
    gaveUp: [],
    deferred: 0,
    checkpoint: stored,
  };

  const token = randomUUID();
  if ((await redis.set(keys.lock, token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK') {
    logger.info('another redelivery sweep is running; skipping');
    return { ...result, skipped: 'locked' };
  }
  try {
    const deliveries: HookDelivery[] = [];
    let cursor: string | undefined;
    while (result.pages < limits.maxPages) {
      const page = await client.listPage(cursor);
      result.pages += 1;
      deliveries.push(...page.deliveries);
      const oldest = page.deliveries[page.deliveries.length - 1];
      // Newest first: once a page reaches past `since`, older pages cannot matter.
      if (
        page.nextCursor === undefined ||
        oldest === undefined ||
        Date.parse(oldest.delivered_at) < sinceMs
      ) {
        result.complete = true;
        break;
      }
      cursor = page.nextCursor;
    }
    result.scanned = deliveries.length;

    const failed = planRedeliveries(deliveries, since);
    result.failed = failed.length;
    const batch = failed.slice(0, limits.maxRedeliveriesPerSweep);
    result.deferred = failed.length - batch.length;
    for (const f of batch) {
      // Count before asking, so a crash between the two can never cause unbounded retries.
      const attemptsKey = keys.attempts(f.guid);
      const count = await redis.incr(attemptsKey);
      await redis.expire(attemptsKey, COUNTER_TTL_SECONDS);
      if (count > limits.maxAttemptsPerGuid) {
        if (count === limits.maxAttemptsPerGuid + 1) {
          result.gaveUp.push(f.guid);
          metrics?.redeliveryGiveUps.inc();
          logger.warn(
            { guid: f.guid, event: f.event, action: f.action, redeliveries: limits.maxAttemptsPerGuid },
            'giving up on a failed GitHub delivery',
          );
        }
        continue;
      }
      try {
        await client.redeliver(f.attemptId);
        result.redelivered.push(f.guid);
        metrics?.redeliveries.inc({ outcome: 'requested' });
        logger.info({ guid: f.guid, event: f.event, attemptId: f.attemptId }, 'requested a redelivery');
      } catch (err) {
        result.errors.push(f.guid);
        metrics?.redeliveries.inc({ outcome: 'error' });
        logger.warn({ guid: f.guid, code: (err as { code?: string }).code }, (err as Error).message);
      }
    }

    // Advance only when everything up to now was seen and handled; otherwise the next sweep
    // starts from the same place (the per-guid counters keep that bounded).
    if (result.complete && result.deferred === 0) {
      result.checkpoint = now.toISOString();
      await redis.set(keys.checkpoint, result.checkpoint);
    }
    logger.info(
      {
        since: result.since,
        pages: result.pages,
        scanned: result.scanned,
        failed: result.failed,
        redelivered: result.redelivered.length,
        gaveUp: result.gaveUp.length,
        deferred: result.deferred,
      },
      'redelivery sweep finished',
    );
    return result;
  } finally {
    await redis.eval(RELEASE_LOCK, 1, keys.lock, token).catch(() => {});
  }
}
