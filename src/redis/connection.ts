import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { parseRedisTarget, type RedisTarget } from './redis-target.js';

/**
 * A connection to whatever REDIS_URL names: one Redis or a Sentinel-managed primary (an
 * ioredis `Redis`), or Redis Cluster (an ioredis `Cluster`). Both speak the same commands;
 * what differs is that on a cluster every multi-key command and script must stay in one
 * slot, which the key layouts ensure with hash tags (src/runs/run-keys.ts,
 * src/queue/bullmq-prefix.ts).
 */
export type RedisClient = Redis | Cluster;

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
): RedisClient {
  return connect(parseRedisTarget(url), kind, options);
}

/** Like createRedisConnection, from an already parsed target. */
export function connect(
  target: RedisTarget,
  kind: ConnectionKind,
  options: ConnectionOptions = {},
): RedisClient {
  const timeout = options.commandTimeoutMs ?? 2000;
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
          commandTimeout: timeout,
          connectTimeout: timeout,
        }
      : { maxRetriesPerRequest: null, enableOfflineQueue: true };

  let client: RedisClient;
  if (target.kind === 'single') {
    client = new Redis(target.url, { ...base, ...perKind });
  } else if (target.kind === 'sentinel') {
    client = new Redis({
      ...base,
      ...perKind,
      sentinels: target.sentinels,
      name: target.masterName,
      ...(target.username !== undefined ? { username: target.username } : {}),
      ...(target.password !== undefined ? { password: target.password } : {}),
      ...(target.db !== undefined ? { db: target.db } : {}),
      ...(target.sentinelUsername !== undefined ? { sentinelUsername: target.sentinelUsername } : {}),
      ...(target.sentinelPassword !== undefined ? { sentinelPassword: target.sentinelPassword } : {}),
      ...(target.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
      // After a failover the old primary may still answer as a replica for a moment.
      failoverDetector: true,
    });
  } else {
    const { enableOfflineQueue, ...nodeOptions } = perKind;
    const clusterOptions: ClusterOptions = {
      // Per-node settings: auth, TLS, timeouts, and BullMQ's maxRetriesPerRequest: null.
      redisOptions: {
        ...base,
        ...nodeOptions,
        ...(target.username !== undefined ? { username: target.username } : {}),
        ...(target.password !== undefined ? { password: target.password } : {}),
        ...(target.tls ? { tls: {} } : {}),
      },
      enableOfflineQueue: enableOfflineQueue ?? true,
      // Keep trying to reach the seeds, as a single connection keeps reconnecting.
      clusterRetryStrategy: (times) => Math.min(times * 200, 2000),
      // Managed clusters behind TLS announce names that must be verified as given
      // (ElastiCache's documented setting); resolving them to IPs would fail the certificate.
      ...(target.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
      slotsRefreshTimeout: timeout,
    };
    client = new Cluster(target.nodes, clusterOptions);
  }
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash.
  // Callers that care (readiness, logs) attach their own listeners.
  client.on('error', () => {});
  return client;
}

/**
 * The primaries behind a client: the client itself for one Redis or Sentinel, every primary
 * node of a cluster (for checks that must hold on each, such as the eviction policy).
 */
export function primaries(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}
