import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunInputInvalid } from '../../../src/errors.js';
import { DeployLock } from '../../../src/runs/deploy-lock.js';
import { newRunId } from '../../../src/runs/run-id.js';
import { deleteKeysWithPrefix, testRedis, uniquePrefix } from '../../support/redis.js';
import type { RedisClient } from '../../../src/redis/connection.js';

const hop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('DeployLock (real Redis)', () => {
  let prefix: string;
  let connections: RedisClient[];
  let locks: DeployLock[];
  let lock: DeployLock;

  beforeEach(() => {
    prefix = uniquePrefix('lock');
    connections = Array.from({ length: 4 }, () => testRedis());
    locks = connections.map((redis) => new DeployLock(redis, { prefix, waiterTtlMs: 60_000 }));
    lock = locks[0]!;
  });

  afterEach(async () => {
    for (const redis of connections) redis.disconnect();
    await deleteKeysWithPrefix(prefix);
  });

  it('is owner-only: only the holder renews or releases, and envs are independent', async () => {
    const [a, b] = [newRunId(), newRunId()];
    expect(await lock.acquire('shop', 'staging', a)).toBe(true);
    expect(await lock.acquire('shop', 'staging', a)).toBe(true); // a retried job re-takes its own lock
    expect(await locks[1]!.acquire('shop', 'staging', b)).toBe(false);
    expect(await locks[1]!.acquire('shop', 'production', b)).toBe(true);
    expect(await locks[1]!.acquire('cart', 'staging', b)).toBe(true);
    expect(await locks[1]!.renew('shop', 'staging', b)).toBe(false);
    expect(await locks[1]!.release('shop', 'staging', b)).toBe(false);
    expect(await lock.holder('shop', 'staging')).toBe(a);
    expect(await lock.renew('shop', 'staging', a, { leaseMs: 5000 })).toBe(true);
    expect(await lock.release('shop', 'staging', a)).toBe(true);
    expect(await lock.holder('shop', 'staging')).toBeNull();
    expect(await locks[1]!.acquire('shop', 'staging', b)).toBe(true);
    await expect(lock.acquire('shop:x', 'staging', a)).rejects.toMatchObject({ code: RunInputInvalid.code });
    await expect(lock.acquire('shop', 'staging', 'not-a-run')).rejects.toMatchObject({
      code: RunInputInvalid.code,
    });
  });

  it('never lets two runs hold one app+env at once (concurrent acquire loops)', async () => {
    const rounds = 15;
    let inside = 0;
    let maxInside = 0;
    const counter = `${prefix}:test-inside`;
    const worker = async (l: DeployLock, redis: RedisClient): Promise<number> => {
      let held = 0;
      const runId = newRunId();
      const deadline = Date.now() + 15_000;
      while (held < rounds) {
        if (Date.now() > deadline) throw new Error('starved');
        if (!(await l.acquire('shop', 'production', runId, { leaseMs: 10_000 }))) {
          await hop();
          continue;
        }
        inside += 1;
        maxInside = Math.max(maxInside, inside);
        // Also count inside Redis, where the other connections' view lives.
        const concurrent = await redis.incr(counter);
        expect(concurrent).toBe(1);
        await hop();
        await redis.decr(counter);
        inside -= 1;
        expect(await l.release('shop', 'production', runId)).toBe(true);
        held += 1;
      }
      return held;
    };
    const held = await Promise.all(locks.map((l, i) => worker(l, connections[i]!)));
    expect(held).toEqual(locks.map(() => rounds));
    expect(maxInside).toBe(1);
  });

  it('lets the next run take over once a crashed holder’s lease runs out', async () => {
    const [crashed, next] = [newRunId(), newRunId()];
    const leaseMs = 300;
    const t0 = Date.now();
    expect(await lock.acquire('shop', 'staging', crashed, { leaseMs })).toBe(true);
    let tookOver = false;
    while (!tookOver) {
      if (Date.now() - t0 > 5000) throw new Error('lease never expired');
      tookOver = await locks[1]!.acquire('shop', 'staging', next, { leaseMs: 10_000 });
      if (!tookOver) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(Date.now() - t0).toBeGreaterThanOrEqual(leaseMs - 50);
    // The crashed holder, if it comes back, can neither renew nor free the new holder's lock.
    expect(await lock.renew('shop', 'staging', crashed)).toBe(false);
    expect(await lock.release('shop', 'staging', crashed)).toBe(false);
    expect(await lock.holder('shop', 'staging')).toBe(next);
  });

  describe('waitTurn', () => {
    it('queues the newest release and supersedes stale ones', async () => {
      const [v1, v2, v3, v4] = [newRunId(), newRunId(), newRunId(), newRunId()];
      expect(await lock.waitTurn('shop', 'staging', v1, 100)).toEqual({ status: 'acquired' });
      expect(await lock.waitTurn('shop', 'staging', v2, 200)).toEqual({ status: 'waiting', holder: v1 });
      expect(await lock.waitTurn('shop', 'staging', v3, 300)).toEqual({ status: 'waiting', holder: v1 });
      // v2 was displaced by the newer v3: a stale release is superseded, not deployed.
      expect(await lock.waitTurn('shop', 'staging', v2, 200)).toEqual({ status: 'superseded', by: v3 });
      // An older release arriving late is superseded straight away.
      expect(await lock.waitTurn('shop', 'staging', v4, 150)).toEqual({ status: 'superseded', by: v3 });
      // The holder calling again (a retried job) keeps its lock.
      expect(await lock.waitTurn('shop', 'staging', v1, 100)).toEqual({ status: 'acquired' });
      expect(await lock.release('shop', 'staging', v1)).toBe(true);
      expect(await lock.waitTurn('shop', 'staging', v3, 300)).toEqual({ status: 'acquired' });
      expect(await lock.release('shop', 'staging', v3)).toBe(true);
      // With the lock free again, v2 is still older than what was deployed last.
      expect(await lock.waitTurn('shop', 'staging', v2, 200)).toEqual({ status: 'superseded', by: v3 });
      // Another environment has its own order.
      expect(await lock.waitTurn('shop', 'production', v2, 200)).toEqual({ status: 'acquired' });
    });

    it('forgets a waiter that stopped asking, so it cannot supersede live releases', async () => {
      const shortLived = new DeployLock(connections[0]!, { prefix, waiterTtlMs: 200 });
      const [holder, deadWaiter, live] = [newRunId(), newRunId(), newRunId()];
      expect(await shortLived.waitTurn('shop', 'staging', holder, 1)).toEqual({ status: 'acquired' });
      expect(await shortLived.waitTurn('shop', 'staging', deadWaiter, 3)).toMatchObject({
        status: 'waiting',
      });
      expect(await shortLived.release('shop', 'staging', holder)).toBe(true);
      expect(await shortLived.waitTurn('shop', 'staging', live, 2)).toEqual({
        status: 'superseded',
        by: deadWaiter,
      });
      const deadline = Date.now() + 5000;
      let result = await shortLived.waitTurn('shop', 'staging', live, 2);
      while (result.status !== 'acquired' && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        result = await shortLived.waitTurn('shop', 'staging', live, 2);
      }
      expect(result).toEqual({ status: 'acquired' });
    });

    it('deploys releases racing for one environment one at a time, newest last', async () => {
      const releases = Array.from({ length: 8 }, (_, i) => ({ runId: newRunId(), order: 1000 + i }));
      const deployed: number[] = [];
      const superseded: number[] = [];
      let inside = 0;
      const drive = async (l: DeployLock, r: { runId: string; order: number }): Promise<void> => {
        const deadline = Date.now() + 15_000;
        for (;;) {
          if (Date.now() > deadline) throw new Error(`release ${r.order} starved`);
          const turn = await l.waitTurn('shop', 'production', r.runId, r.order, { leaseMs: 10_000 });
          if (turn.status === 'superseded') {
            superseded.push(r.order);
            return;
          }
          if (turn.status === 'acquired') {
            inside += 1;
            expect(inside).toBe(1);
            deployed.push(r.order);
            await hop();
            inside -= 1;
            expect(await l.release('shop', 'production', r.runId)).toBe(true);
            return;
          }
          await hop();
        }
      };
      await Promise.all(releases.map((r, i) => drive(locks[i % locks.length]!, r)));
      expect(deployed.length + superseded.length).toBe(releases.length);
      // What did deploy went strictly forwards, and the newest release always deploys.
      expect([...deployed].sort((a, b) => a - b)).toEqual(deployed);
      expect(deployed.at(-1)).toBe(1007);
    });
  });
});
