import { Redis, type RedisOptions } from 'ioredis';

/**
 * Two kinds of connection, because BullMQ needs opposite settings for them:
 * - `producer`: used on the request path (webhook enqueue, readiness). No offline queue and a
 *   command timeout, so a Redis outage turns into a fast 503 instead of a hung request.
 * - `worker`: used by BullMQ workers, which block on Redis; BullMQ requires
 *   `maxRetriesPerRequest: null` there and reconnects forever by itself.
 */
export type ConnectionKind = 'producer' | 'worker';

export interface ConnectionOptions {
  /** Per-command timeout on producer connections. @defaultValue 2000 */
  commandTimeoutMs?: number;
  connectionName?: string;
}

export function createRedisConnection(
  url: string,
  kind: ConnectionKind,
  options: ConnectionOptions = {},
): Redis {
  const base: RedisOptions = {
    connectionName: options.connectionName ?? `shipgate-${kind}`,
    // Cap the back-off so a restarted Redis is picked up within a couple of seconds.
    retryStrategy: (times) => Math.min(times * 200, 2000),
    lazyConnect: false,
  };
  const perKind: RedisOptions =
    kind === 'producer'
      ? {
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          commandTimeout: options.commandTimeoutMs ?? 2000,
          connectTimeout: options.commandTimeoutMs ?? 2000,
        }
      : { maxRetriesPerRequest: null, enableOfflineQueue: true };
  const redis = new Redis(url, { ...base, ...perKind });
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash.
  // Callers that care (readiness, logs) attach their own listeners.
  redis.on('error', () => {});
  return redis;
}
