import type { RedisClient } from '../redis/connection.js';

export type LuaCommand = (...keysThenArgs: (string | number)[]) => Promise<unknown>;

/**
 * Registers `lua` on `redis` as a custom command (ioredis sends EVALSHA and falls back to
 * EVAL after a NOSCRIPT, e.g. after a Redis restart) and returns it bound to the client.
 * Names carry a version suffix so two Shipgate builds sharing a connection cannot clash.
 * With `numberOfKeys: 'dynamic'` the caller passes the key count first, then the keys.
 */
export function defineLuaCommand(
  redis: RedisClient,
  name: string,
  numberOfKeys: number | 'dynamic',
  lua: string,
): LuaCommand {
  const commands = redis as unknown as Record<string, LuaCommand | undefined>;
  if (typeof commands[name] !== 'function') {
    redis.defineCommand(name, numberOfKeys === 'dynamic' ? { lua } : { numberOfKeys, lua });
  }
  const command = commands[name];
  if (typeof command !== 'function') throw new Error(`ioredis did not define ${name}`);
  return command.bind(redis);
}

/**
 * KEYS: 1 a lease key holding its owner's id. ARGV: 1 owner id, 2 lease ms. Extends the lease
 * only for its owner: 1, or 0 when it ran out and someone else (or nobody) holds it now.
 */
export const RENEW_OWNED_LEASE_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
`;
