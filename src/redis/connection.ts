import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { RedisUnavailable, type ShipgateError } from '../errors.js';
import { parseRedisTarget, type RedisTarget } from './redis-target.js';

/**
 * A connection to whatever REDIS_URL names: one Redis or a Sentinel-managed primary (an
 * ioredis `Redis`), or Redis Cluster (an ioredis `Cluster`). Both speak the same commands;
 * what differs is that on a cluster every multi-key command and script must stay in one
 * slot, which the key layouts ensure with hash tags (src/runs/run-keys.ts,
 * src/queue/bullmq-prefix.ts).
 */
export type RedisClient = Redis | Cluster;

/** The last reason a client gave for not being ready, for the error that says so. */
const lastFailure = new WeakMap<RedisClient, string>();

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
    client = connectCluster(target, perKind, options.connectionName ?? `shipgate-${kind}`, timeout);
  }
  // ioredis emits 'error' on every failed reconnect; without a listener Node would crash.
  // Callers that care (readiness, logs) attach their own listeners.
  client.on('error', () => {});
  if (!(client instanceof Cluster)) {
    client.on('error', (err: Error) => lastFailure.set(client, err.message.slice(0, 300)));
    client.on('ready', () => lastFailure.delete(client));
  }
  return client;
}

/**
 * The primaries behind a client: the client itself for one Redis or Sentinel, every primary
 * node of a cluster (for checks that must hold on each, such as the eviction policy).
 */
export function primaries(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/**
 * A Redis Cluster client. Three settings here are the difference between a client that comes
 * up and one that closes itself over and over without saying why (issue #17):
 *
 * - The node options leave `lazyConnect` to ioredis. Its connection pool makes every node
 *   lazy, and the check that runs once the slot map is read (`CLUSTER INFO` on a random node)
 *   accepts a node that is still `wait`ing. Forcing `lazyConnect: false` onto the nodes made
 *   them `connecting` at that moment, and a producer (cluster offline queue off, so that the
 *   ingress fails fast) had the check rejected with "Connection is closed." whenever the
 *   random pick was not the seed: about two starts in three. ioredis treats a failed check as
 *   "disconnect and retry", and only logs it under DEBUG, so the client went `close` with no
 *   error event, and on a loaded machine could spend its whole wait losing that draw.
 * - `clusterRetryStrategy` always returns a delay (capped back-off): a cluster that cannot be
 *   reached, or whose slot map cannot be read, is tried again, never given up (`end`).
 * - Every attempt that ends before the client is ready is reported as a typed
 *   `SHIPGATE_E_REDIS_UNAVAILABLE` 'error' event carrying the last reason ioredis gave, and
 *   `waitUntilReady` throws that reason, so nothing closes silently.
 */
function connectCluster(
  target: Extract<RedisTarget, { kind: 'cluster' }>,
  perKind: RedisOptions,
  connectionName: string,
  slotsRefreshTimeout: number,
): Cluster {
  const { enableOfflineQueue, ...nodeOptions } = perKind;
  const clusterOptions: ClusterOptions = {
    // Per-node settings: auth, TLS, timeouts, and BullMQ's maxRetriesPerRequest: null. No
    // `lazyConnect` (above) and no `retryStrategy`: ioredis drops a lost node and finds the
    // slot's new owner from the slot map, which clusterRetryStrategy keeps reading.
    redisOptions: {
      connectionName,
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
    slotsRefreshTimeout,
  };
  const cluster = new Cluster(target.nodes, clusterOptions);
  reportFailedAttempts(cluster);
  return cluster;
}

function reportFailedAttempts(cluster: Cluster): void {
  let attempts = 0;
  // One report per attempt: ioredis can set `close` twice for one attempt (once per node
  // connection that ends after the pool emptied).
  let attemptOpen = false;
  let slotMapRead = false;
  const note = (reason: string) => lastFailure.set(cluster, reason.slice(0, 300));
  cluster.on('node error', (err: Error, node: string) =>
    // ioredis reads the slot map on a throwaway connection whose own errors it drops, so a
    // refused or timed-out connect reaches us only as "Connection is closed.".
    note(
      `${node}: ${err.message === 'Connection is closed.' ? 'no connection (refused, timed out or closed)' : err.message}`,
    ),
  );
  cluster.on('connecting', () => {
    attemptOpen = true;
    slotMapRead = false;
  });
  // 'connect' on a Cluster: the slot map is read; 'ready' follows once CLUSTER INFO answers.
  cluster.on('connect', () => {
    slotMapRead = true;
  });
  cluster.on('ready', () => {
    attempts = 0;
    attemptOpen = false;
    lastFailure.delete(cluster);
  });
  cluster.on('close', () => {
    // A manual disconnect or quit is the end of the client, not a failure.
    const manual = (cluster as unknown as { manuallyClosing?: boolean }).manuallyClosing === true;
    if (!attemptOpen || manual) return;
    attemptOpen = false;
    attempts += 1;
    if (slotMapRead) note('slot map read, but the ready check (CLUSTER INFO) failed');
    else if (!lastFailure.has(cluster)) note('no seed node answered CLUSTER SLOTS');
    cluster.emit(
      'error',
      RedisUnavailable(`cluster connect attempt ${attempts} failed (${lastFailure.get(cluster)}); retrying`),
    );
  });
}

/**
 * Resolves once `client` is ready (a cluster: once it has read the slot map and the ready
 * check passed). Otherwise throws `SHIPGATE_E_REDIS_UNAVAILABLE` after `timeoutMs`, with the
 * last reason the client gave. The client keeps retrying either way; the caller decides.
 */
export async function waitUntilReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: ShipgateError) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('end', onEnd);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onReady = () => done();
    const onEnd = () => done(RedisUnavailable('the connection was closed before it was ready'));
    const timer = setTimeout(() => {
      const why = lastFailure.get(client);
      done(
        RedisUnavailable(
          `not ready within ${timeoutMs} ms (status ${client.status}${why === undefined ? '' : `; last: ${why}`})`,
        ),
      );
    }, timeoutMs);
    client.on('ready', onReady);
    client.on('end', onEnd);
  });
}
