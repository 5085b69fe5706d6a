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
