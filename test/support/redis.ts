import { randomUUID } from 'node:crypto';
import {
  createRedisConnection,
  primaries,
  type ConnectionKind,
  type ConnectionOptions,
  type RedisClient,
  waitUntilReady,
} from '../../src/redis/connection.js';
import { parseRedisTarget } from '../../src/redis/redis-target.js';

/**
 * The shared test Redis. `.ci/run` makes sure one is listening here. Under
 * `npm run test:cluster` (SHIPGATE_TEST_REDIS=cluster) it is a `redis+cluster://` URL of the
 * three-primary cluster test/support/cluster-global-setup.ts started.
 */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** True when the suite runs against Redis Cluster. */
export const TEST_REDIS_IS_CLUSTER = process.env.SHIPGATE_TEST_REDIS === 'cluster';

if (TEST_REDIS_IS_CLUSTER && parseRedisTarget(TEST_REDIS_URL).kind !== 'cluster') {
  throw new Error('SHIPGATE_TEST_REDIS=cluster needs TEST_REDIS_URL=redis+cluster://…');
}

/**
 * A connection to the test Redis, single or cluster alike, made the way Shipgate makes its own
 * (src/redis/connection.ts). `worker` (the default) queues commands until connected.
 */
export function testRedis(kind: ConnectionKind = 'worker', options: ConnectionOptions = {}): RedisClient {
  return createRedisConnection(TEST_REDIS_URL, kind, options);
}

/**
 * Resolves once the client is connected (a cluster: once it knows its nodes); otherwise throws
 * SHIPGATE_E_REDIS_UNAVAILABLE with the client's last reason.
 */
export async function whenReady(redis: RedisClient, timeoutMs = 10_000): Promise<void> {
  await waitUntilReady(redis, timeoutMs);
}

/** A fresh key prefix per test, so tests never see each other's keys (the BullMQ habit). */
export function uniquePrefix(label = 'test'): string {
  return `sgtest-${label}-${randomUUID()}`;
}

/** Every key under `prefix` (and `{prefix}`, BullMQ's), on every primary of a cluster. */
export async function keysWithPrefix(prefix: string, redis?: RedisClient): Promise<string[]> {
  const client = redis ?? testRedis();
  try {
    await whenReady(client);
    const found: string[] = [];
    for (const node of primaries(client)) {
      for (const pattern of [`${prefix}*`, `{${prefix}}*`]) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          cursor = next;
          found.push(...keys);
        } while (cursor !== '0');
      }
    }
    return found.sort();
  } finally {
    if (redis === undefined) client.disconnect();
  }
}

/** Deletes every key under `prefix`, and the BullMQ keys under `{prefix}` (bullmqPrefix). */
export async function deleteKeysWithPrefix(prefix: string, url = TEST_REDIS_URL): Promise<void> {
  const redis = createRedisConnection(url, 'worker');
  try {
    const keys = await keysWithPrefix(prefix, redis);
    // One UNLINK per key: keys of different hash tags may not share a command on a cluster.
    await Promise.all(keys.map((key) => redis.unlink(key)));
  } finally {
    redis.disconnect();
  }
}
