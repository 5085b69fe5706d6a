import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { EnvRepoWriteBusy, RunInputInvalid } from '../errors.js';
import type { RedisClient } from '../redis/connection.js';
import { defineLuaCommand, RENEW_OWNED_LEASE_LUA, type LuaCommand } from './lua-command.js';

/**
 * Writers of one env-repo branch take turns, first come first served, across every worker
 * process.
 *
 * Why: each release commit is fetch → decide → commit → push, and a push that lost the race
 * starts over. With a dozen deploys writing one branch at once on a slow machine (each attempt
 * a few seconds of git), nearly every push lost, and deploys gave up after 12 attempts. In turns,
 * each writer fetches a tip nobody else is about to move, so its first push lands.
 *
 * The turn is an optimisation, not the safety: the push is still a compare-and-swap (no force)
 * and the write loop still retries a lost race, which is what an outside writer (a person, CI)
 * can still cause. So a turn whose lease runs out while its holder is slow costs only a retry.
 *
 * Layout (one hash tag per branch, so the script is atomic on Redis Cluster too):
 * `<p>:{envwrite:<id>}` the holder's token with a lease; `…:queue` a zset of waiting tokens by
 * arrival (`…:arrivals` counts them); `…:seen` token → when that waiter last asked. A waiter that stops asking (its process
 * died) is dropped after `waiterTtlMs`, so it cannot hold up the line.
 */

/**
 * KEYS: 1 turn, 2 queue, 3 seen, 4 arrival counter. ARGV: 1 token, 2 lease ms, 3 waiter ttl ms.
 * Returns 1 when the caller holds the turn, 0 when it must ask again.
 */
const TAKE_TURN_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local token, ttl = ARGV[1], tonumber(ARGV[3])
local stale = {}
for _, waiter in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if waiter ~= token and now - tonumber(redis.call('HGET', KEYS[3], waiter) or '0') > ttl then
    stale[#stale + 1] = waiter
  end
end
if #stale > 0 then
  redis.call('ZREM', KEYS[2], unpack(stale))
  redis.call('HDEL', KEYS[3], unpack(stale))
end
local holder = redis.call('GET', KEYS[1])
if holder == token then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not redis.call('ZSCORE', KEYS[2], token) then
  -- Arrival order from a counter: two waiters can arrive within one millisecond.
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[4]), token)
end
redis.call('HSET', KEYS[3], token, now)
for i = 2, 4 do redis.call('PEXPIRE', KEYS[i], ttl * 2) end
if holder then return 0 end
if redis.call('ZRANGE', KEYS[2], 0, 0)[1] ~= token then return 0 end
redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
redis.call('ZREM', KEYS[2], token)
redis.call('HDEL', KEYS[3], token)
return 1
`;

/** KEYS: 1 turn, 2 queue, 3 seen. ARGV: 1 token. Ends a turn or leaves the line. */
const LEAVE_LUA = `
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;

/** The turn's keys for one branch (see the layout above). */
export function writeTurnKeys(
  prefix: string,
  repoUrl: string,
  branch: string,
): [turn: string, queue: string, seen: string, arrivals: string] {
  const id = createHash('sha256').update(`${repoUrl}\0${branch}`).digest('hex').slice(0, 24);
  const turn = `${prefix}:{envwrite:${id}}`;
  return [turn, `${turn}:queue`, `${turn}:seen`, `${turn}:arrivals`];
}

export interface WriteTurnOptions {
  prefix: string;
  /** A turn's lease, renewed every third of it while the work runs. @defaultValue 30000 */
  leaseMs?: number;
  /** How long to wait in line before giving up with EnvRepoWriteBusy. @defaultValue 120000 */
  maxWaitMs?: number;
  /** How often a waiter asks again (jittered ±50%). @defaultValue 100 */
  pollMs?: number;
  /** A waiter silent for this long has left the line. @defaultValue 5000 */
  waiterTtlMs?: number;
}

/** Runs `work` in its turn among the writers of `branch`; what it returns or throws passes through. */
export type TakeTurn = <R>(branch: string, work: () => Promise<R>) => Promise<R>;

export class WriteTurns {
  private readonly take: LuaCommand;
  private readonly renew: LuaCommand;
  private readonly leave: LuaCommand;
  private readonly leaseMs: number;
  private readonly maxWaitMs: number;
  private readonly pollMs: number;
  private readonly waiterTtlMs: number;

  constructor(
    redis: RedisClient,
    private readonly options: WriteTurnOptions,
  ) {
    if (!options.prefix) throw RunInputInvalid('WriteTurns needs a key prefix');
    this.leaseMs = options.leaseMs ?? 30_000;
    this.maxWaitMs = options.maxWaitMs ?? 120_000;
    this.pollMs = options.pollMs ?? 100;
    this.waiterTtlMs = options.waiterTtlMs ?? 5_000;
    this.take = defineLuaCommand(redis, 'shipgateWriteTurnTakeV1', 4, TAKE_TURN_LUA);
    this.renew = defineLuaCommand(redis, 'shipgateWriteTurnRenewV1', 1, RENEW_OWNED_LEASE_LUA);
    this.leave = defineLuaCommand(redis, 'shipgateWriteTurnLeaveV1', 3, LEAVE_LUA);
  }

  /** The turn-taker for the branches of one repository (the URL never holds credentials). */
  forRepo(repoUrl: string): TakeTurn {
    return async <R>(branch: string, work: () => Promise<R>): Promise<R> => {
      const keys = writeTurnKeys(this.options.prefix, repoUrl, branch);
      const token = randomUUID();
      const deadline = Date.now() + this.maxWaitMs;
      try {
        while (Number(await this.take(...keys, token, this.leaseMs, this.waiterTtlMs)) !== 1) {
          if (Date.now() >= deadline) throw EnvRepoWriteBusy(branch, this.maxWaitMs);
          await sleep(this.pollMs * (0.5 + Math.random()));
        }
        const renewal = setInterval(() => {
          // A failed renewal only risks a lost push race, which the write loop retries.
          this.renew(keys[0], token, this.leaseMs).catch(() => undefined);
        }, this.leaseMs / 3);
        renewal.unref();
        try {
          return await work();
        } finally {
          clearInterval(renewal);
        }
      } finally {
        await this.leave(keys[0], keys[1], keys[2], token).catch(() => undefined);
      }
    };
  }
}
