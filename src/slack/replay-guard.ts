import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis/connection.js';

/** Remembers signed Slack requests for as long as their timestamp is acceptable. */
export interface ReplayGuard {
  /** True the first time `signature` is seen within `ttlSeconds`; false for a replay. */
  firstSeen(signature: string, ttlSeconds: number): Promise<boolean>;
  /** Forgets a request that could not be handed on, so Slack's retry of it is accepted. */
  forget(signature: string): Promise<void>;
}

/**
 * A signature is an HMAC over the timestamp and the body, so it names one request exactly. Keeping
 * it for the length of the timestamp window (both directions) is enough: after that the timestamp
 * check refuses the request anyway.
 *
 * Key: `{prefix}:slack-seen:{sha256(signature)}`.
 */
export function createReplayGuard(redis: RedisClient, prefix: string): ReplayGuard {
  const key = (signature: string) =>
    `${prefix}:slack-seen:${createHash('sha256').update(signature).digest('hex')}`;
  return {
    async firstSeen(signature, ttlSeconds) {
      return (await redis.set(key(signature), '1', 'EX', ttlSeconds, 'NX')) === 'OK';
    },
    async forget(signature) {
      await redis.del(key(signature));
    },
  };
}
