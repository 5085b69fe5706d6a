import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** The shared test Redis. `.ci/run` makes sure one is listening here. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh key prefix per test, so tests never see each other's keys (the BullMQ habit). */
export function uniquePrefix(label = 'test'): string {
  return `sgtest-${label}-${randomUUID()}`;
}

/** Deletes every key under `prefix`. */
export async function deleteKeysWithPrefix(prefix: string, url = TEST_REDIS_URL): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
