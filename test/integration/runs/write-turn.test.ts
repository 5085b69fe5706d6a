import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnvRepoWriteBusy } from '../../../src/errors.js';
import { WriteTurns, writeTurnKeys } from '../../../src/runs/write-turn.js';
import type { RedisClient } from '../../../src/redis/connection.js';
import { deleteKeysWithPrefix, testRedis, uniquePrefix } from '../../support/redis.js';

const REPO = 'https://github.example/acme/env.git';

async function until(condition: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('WriteTurns (real Redis)', () => {
  let prefix: string;
  let connections: RedisClient[];

  beforeEach(() => {
    prefix = uniquePrefix('turns');
    connections = Array.from({ length: 3 }, () => testRedis());
  });
  afterEach(async () => {
    for (const redis of connections) redis.disconnect();
    await deleteKeysWithPrefix(prefix);
  });

  const turnsOn = (i: number, options: Partial<ConstructorParameters<typeof WriteTurns>[1]> = {}) =>
    new WriteTurns(connections[i]!, { prefix, pollMs: 10, ...options }).forRepo(REPO);

  it('one writer of a branch at a time across clients, served in arrival order', async () => {
    const takers = [turnsOn(0), turnsOn(1), turnsOn(2)];
    const [turn, queue, seen] = writeTurnKeys(prefix, REPO, 'main');
    let inside = 0;
    let mostInside = 0;
    const order: number[] = [];
    let releaseFirst = () => {};
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    const write = (i: number) =>
      takers[i % 3]!('main', async () => {
        inside += 1;
        mostInside = Math.max(mostInside, inside);
        order.push(i);
        await (i === 0 ? firstHeld : sleep(20));
        inside -= 1;
        return i;
      });
    // Writer 0 holds the turn; each next writer starts once the one before it is in line, so
    // the arrival order is known whatever the clients' latency (a cluster client's first call
    // waits for the slot map).
    const writes = [write(0)];
    await until(async () => (await connections[0]!.get(turn)) !== null);
    for (let i = 1; i < 9; i++) {
      writes.push(write(i));
      await until(async () => (await connections[0]!.zcard(queue)) === i);
    }
    releaseFirst();
    expect(await Promise.all(writes)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(mostInside).toBe(1);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    // Nothing is left behind: no holder, nobody in line.
    expect(await connections[0]!.exists(turn, queue, seen)).toBe(0);
  });

  it('branches are independent', async () => {
    const take = turnsOn(0);
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const holding = take('main', () => held);
    await sleep(30);
    expect(await take('staging', async () => 'other branch ran')).toBe('other branch ran');
    release();
    await holding;
  });

  it('passes the work’s error through and frees the turn', async () => {
    const take = turnsOn(0);
    await expect(take('main', () => Promise.reject(new Error('push refused')))).rejects.toThrow(
      'push refused',
    );
    expect(await take('main', async () => 'next')).toBe('next');
  });

  it('a waiter that stopped asking (its process died) is dropped from the line', async () => {
    const [, queue, seen] = writeTurnKeys(prefix, REPO, 'main');
    // A ghost at the head of the line, last seen now, never to ask again.
    await connections[0]!.zadd(queue, 0, 'ghost');
    await connections[0]!.hset(seen, 'ghost', Date.now());
    const started = Date.now();
    expect(await turnsOn(1, { waiterTtlMs: 300 })('main', async () => 'served')).toBe('served');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await connections[0]!.zscore(queue, 'ghost')).toBeNull();
  });

  it('a holder that died holds the turn no longer than its lease', async () => {
    const [turn] = writeTurnKeys(prefix, REPO, 'main');
    await connections[0]!.set(turn, 'dead-holder', 'PX', 400);
    const started = Date.now();
    expect(await turnsOn(1)('main', async () => 'served')).toBe('served');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('gives up with EnvRepoWriteBusy after maxWaitMs, and leaves the line', async () => {
    const [turn, queue] = writeTurnKeys(prefix, REPO, 'main');
    await connections[0]!.set(turn, 'slow-holder', 'PX', 10_000);
    let ran = false;
    const err = await turnsOn(1, { maxWaitMs: 200 })('main', async () => {
      ran = true;
    }).catch((e: unknown) => e);
    expect(EnvRepoWriteBusy.is(err)).toBe(true);
    expect(ran).toBe(false);
    expect(await connections[0]!.zcard(queue)).toBe(0);
    expect(await connections[0]!.get(turn)).toBe('slow-holder');
  });

  it('renews a long turn: a second writer waits past the lease', async () => {
    const first = turnsOn(0, { leaseMs: 300 });
    const second = turnsOn(1, { leaseMs: 300 });
    const events: string[] = [];
    const a = first('main', async () => {
      events.push('a start');
      await sleep(900); // three leases: only renewal keeps the turn
      events.push('a end');
    });
    await until(async () => events.includes('a start'));
    const b = second('main', async () => {
      events.push('b');
    });
    await Promise.all([a, b]);
    expect(events).toEqual(['a start', 'a end', 'b']);
  });
});
