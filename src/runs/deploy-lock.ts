import type { RedisClient } from '../redis/connection.js';
import { z } from 'zod';
import { RunInputInvalid } from '../errors.js';
import { defineLuaCommand, RENEW_OWNED_LEASE_LUA, type LuaCommand } from './lua-command.js';
import { isRunId } from './run-id.js';
import { RunKeys } from './run-keys.js';
import { ResourceName } from './run-types.js';

/**
 * One deploy at a time per app and environment.
 *
 * The lock is a Redis string holding the owner's run id with a lease (PX). Only the owner
 * can renew or release it (checked inside Lua). A holder that crashes stops renewing, the
 * lease runs out, and the next caller takes over: nobody can block an environment for
 * longer than one lease. Holders must renew well within the lease (e.g. every lease/3)
 * while a rollout is in flight and give up the deploy when a renewal returns false.
 *
 * `waitTurn` adds release ordering on top. Each release passes a `releaseOrder`: a number
 * that grows with the release's age (tag creation time in ms, or a counter; a rollback
 * uses the time it was requested, so it counts as newest). Then:
 * - a run that already holds the lock gets `acquired` again (and its lease renewed), so a
 *   retried job continues where it was;
 * - a run older than the newest release that has taken this lock (the "high-water mark")
 *   is `superseded` by it: deploying it would roll the environment backwards;
 * - a run older than the release currently waiting is `superseded` by the waiter;
 * - otherwise, a free lock is `acquired`; a held lock makes this run the waiter (`waiting`),
 *   displacing an older waiter, which learns it is superseded on its next call.
 * Ties in `releaseOrder` are broken by run id (ids sort by creation).
 * A waiter must call `waitTurn` again (a delayed job retry) to get the lock; the waiter
 * entry expires after `waiterTtlMs` without a call, so a waiter that died does not
 * supersede live releases forever.
 */

/**
 * KEYS: 1 lock, 2 waiter hash, 3 high-water hash; they share the hash tag `{lock:<app>:<env>}`
 * (see run-keys.ts), so on Redis Cluster they live in one slot and this script stays atomic.
 * ARGV: 1 run id, 2 release order, 3 lease ms, 4 waiter ttl ms, 5 high-water ttl ms.
 * Returns {'acquired'} | {'waiting', holder} | {'superseded', byRunId}.
 */
const WAIT_TURN_LUA = `
local runId, order = ARGV[1], tonumber(ARGV[2])
local function newer(o1, id1, o2, id2)
  if o1 ~= o2 then return o1 > o2 end
  return id1 > id2
end
local holder = redis.call('GET', KEYS[1])
local waiter = redis.call('HMGET', KEYS[2], 'runId', 'order')
if holder == runId then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  if waiter[1] == runId then redis.call('DEL', KEYS[2]) end
  return {'acquired'}
end
local high = redis.call('HMGET', KEYS[3], 'runId', 'order')
if high[1] and high[1] ~= runId and newer(tonumber(high[2]), high[1], order, runId) then
  if waiter[1] == runId then redis.call('DEL', KEYS[2]) end
  return {'superseded', high[1]}
end
if waiter[1] and waiter[1] ~= runId and newer(tonumber(waiter[2]), waiter[1], order, runId) then
  return {'superseded', waiter[1]}
end
if not holder then
  redis.call('SET', KEYS[1], runId, 'PX', ARGV[3])
  -- Any waiter left is older than this run and will meet the high-water mark.
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[3], 'runId', runId, 'order', ARGV[2])
  redis.call('PEXPIRE', KEYS[3], ARGV[5])
  return {'acquired'}
end
redis.call('HSET', KEYS[2], 'runId', runId, 'order', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {'waiting', holder}
`;

/** KEYS: 1 lock. ARGV: 1 run id, 2 lease ms. Takes a free lock or re-takes one's own. */
const ACQUIRE_LUA = `
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

/** KEYS: 1 lock. ARGV: 1 run id. */
const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`;

export type WaitTurnResult =
  { status: 'acquired' } | { status: 'waiting'; holder: string } | { status: 'superseded'; by: string };

export interface DeployLockOptions {
  prefix: string;
  /** Lease of a lock taken without an explicit leaseMs. @defaultValue 120000 (2 minutes) */
  defaultLeaseMs?: number;
  /** How long a waiter counts without calling waitTurn again. @defaultValue 900000 (15 minutes) */
  waiterTtlMs?: number;
  /** How long the high-water mark is kept. @defaultValue 30 days */
  highWaterTtlMs?: number;
}

const LeaseMs = z
  .int()
  .min(100)
  .max(24 * 60 * 60 * 1000);
const ReleaseOrder = z.number().finite().nonnegative().max(Number.MAX_SAFE_INTEGER);

export class DeployLock {
  private readonly keys: RunKeys;
  private readonly defaultLeaseMs: number;
  private readonly waiterTtlMs: number;
  private readonly highWaterTtlMs: number;
  private readonly waitTurnCmd: LuaCommand;
  private readonly acquireCmd: LuaCommand;
  private readonly renewCmd: LuaCommand;
  private readonly releaseCmd: LuaCommand;

  constructor(
    private readonly redis: RedisClient,
    options: DeployLockOptions,
  ) {
    if (!options.prefix) throw RunInputInvalid('DeployLock needs a key prefix');
    this.keys = new RunKeys(options.prefix);
    this.defaultLeaseMs = options.defaultLeaseMs ?? 120_000;
    this.waiterTtlMs = options.waiterTtlMs ?? 15 * 60_000;
    this.highWaterTtlMs = options.highWaterTtlMs ?? 30 * 24 * 60 * 60_000;
    this.waitTurnCmd = defineLuaCommand(redis, 'shipgateLockWaitTurnV1', 3, WAIT_TURN_LUA);
    this.acquireCmd = defineLuaCommand(redis, 'shipgateLockAcquireV1', 1, ACQUIRE_LUA);
    this.renewCmd = defineLuaCommand(redis, 'shipgateLockRenewV1', 1, RENEW_OWNED_LEASE_LUA);
    this.releaseCmd = defineLuaCommand(redis, 'shipgateLockReleaseV1', 1, RELEASE_LUA);
  }

  private target(app: string, env: string, runId: string): { lock: string } {
    const a = ResourceName.safeParse(app);
    const e = ResourceName.safeParse(env);
    if (!a.success) throw RunInputInvalid(`app ${JSON.stringify(app)} is not a valid name`);
    if (!e.success) throw RunInputInvalid(`env ${JSON.stringify(env)} is not a valid name`);
    if (!isRunId(runId)) throw RunInputInvalid('runId must be a run id');
    return { lock: this.keys.lock(app, env) };
  }

  private lease(leaseMs: number | undefined): number {
    const parsed = LeaseMs.safeParse(leaseMs ?? this.defaultLeaseMs);
    if (!parsed.success) throw RunInputInvalid('leaseMs must be an integer between 100 and 86400000');
    return parsed.data;
  }

  /** Takes the lock if it is free (or already this run's, renewing it). No ordering. */
  async acquire(
    app: string,
    env: string,
    runId: string,
    options: { leaseMs?: number } = {},
  ): Promise<boolean> {
    const { lock } = this.target(app, env, runId);
    return Number(await this.acquireCmd(lock, runId, this.lease(options.leaseMs))) === 1;
  }

  /** Extends the lease; false when this run no longer holds the lock (it expired and was taken). */
  async renew(app: string, env: string, runId: string, options: { leaseMs?: number } = {}): Promise<boolean> {
    const { lock } = this.target(app, env, runId);
    return Number(await this.renewCmd(lock, runId, this.lease(options.leaseMs))) === 1;
  }

  /** Frees the lock if this run holds it; false otherwise (never frees someone else's). */
  async release(app: string, env: string, runId: string): Promise<boolean> {
    const { lock } = this.target(app, env, runId);
    return Number(await this.releaseCmd(lock, runId)) === 1;
  }

  /** The run id holding the lock, if any. For status pages and logs. */
  async holder(app: string, env: string): Promise<string | null> {
    const a = ResourceName.safeParse(app);
    const e = ResourceName.safeParse(env);
    if (!a.success || !e.success) throw RunInputInvalid('invalid app or env name');
    return this.redis.get(this.keys.lock(app, env));
  }

  /** Ordered acquisition for releases; see the comment at the top of this file. */
  async waitTurn(
    app: string,
    env: string,
    runId: string,
    releaseOrder: number,
    options: { leaseMs?: number } = {},
  ): Promise<WaitTurnResult> {
    const { lock } = this.target(app, env, runId);
    const order = ReleaseOrder.safeParse(releaseOrder);
    if (!order.success) throw RunInputInvalid('releaseOrder must be a finite non-negative number');
    const reply = (await this.waitTurnCmd(
      lock,
      this.keys.lockWaiter(app, env),
      this.keys.lockHigh(app, env),
      runId,
      String(order.data),
      this.lease(options.leaseMs),
      this.waiterTtlMs,
      this.highWaterTtlMs,
    )) as [string, string?];
    if (reply[0] === 'acquired') return { status: 'acquired' };
    if (reply[0] === 'waiting') return { status: 'waiting', holder: String(reply[1]) };
    return { status: 'superseded', by: String(reply[1]) };
  }
}
