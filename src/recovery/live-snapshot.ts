import type { RedisClient } from '../redis/connection.js';
import type { RunKeys } from '../runs/run-keys.js';
import type { LiveEntry } from './types.js';

// Apart from the recovery itself, so the API's read of the snapshot (`GET /api/live`) does not
// load the GitHub client and the env-repo readers that only the recovery uses.

/** "What is live" per app and environment, as the last recovery rebuilt it from the env repo. */
export interface LiveSnapshot {
  rebuiltAt: string;
  /** The env-repo commit the snapshot was read at (the policy's). */
  envCommit: string;
  entries: LiveEntry[];
}

export async function readLiveSnapshot(redis: RedisClient, keys: RunKeys): Promise<LiveSnapshot | undefined> {
  const raw = await redis.get(keys.liveState());
  return raw === null ? undefined : (JSON.parse(raw) as LiveSnapshot);
}
