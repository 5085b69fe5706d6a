import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** The shared test Redis. `.ci/run` makes sure one is listening here. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh key prefix per test, so tests never see each other's keys (the BullMQ habit). */
export function uniquePrefix(label = 'test'): string {
  return `sgtest-${label}-${randomUUID()}`;
}

/** Deletes every key under `prefix`, and the BullMQ keys under `{prefix}` (bullmqPrefix). */
export async function deleteKeysWithPrefix(prefix: string, url = TEST_REDIS_URL): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    for (const pattern of [`${prefix}*`, `{${prefix}}*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        // One UNLINK per key: keys of different hash tags may not share a command on a cluster.
        await Promise.all(keys.map((key) => redis.unlink(key)));
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}
