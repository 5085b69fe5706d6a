import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  concurrencyGroup,
  RetryingLimiter,
  tokenBucketGroup,
  unlimitedGroup,
} from '../../../src/github/request-limiters.js';

const settle = () => sleep(5);

describe('tokenBucketGroup (the write budget)', () => {
  it('lets a burst through at once, then one job per interval, in arrival order', async () => {
    let clock = 0;
    const bucket = tokenBucketGroup(3, 100, () => clock).key('installation:1');
    const started: number[] = [];
    const jobs = [1, 2, 3, 4, 5].map((n) => bucket.schedule({}, async () => started.push(n)));
    await settle();
    expect(started).toEqual([1, 2, 3]);

    clock += 99;
    await sleep(120); // the bucket's own timer (a real one) wakes it: not a whole interval yet
    expect(started).toEqual([1, 2, 3]);
    clock += 1; // one interval since the burst was taken: one token
    await sleep(120);
    expect(started).toEqual([1, 2, 3, 4]);
    clock += 100;
    await sleep(120);
    expect(started).toEqual([1, 2, 3, 4, 5]);
    await Promise.all(jobs);
  });

  it('never holds more than its burst, however long it was idle', async () => {
    let clock = 0;
    const bucket = tokenBucketGroup(2, 1_000, () => clock).key('a');
    clock += 60_000;
    const started: number[] = [];
    void [1, 2, 3].map((n) => bucket.schedule({}, async () => started.push(n)));
    await settle();
    expect(started).toEqual([1, 2]);
  });

  it('keeps a budget per key, and lets a retry (weight 0) through without a token', async () => {
    const clock = 0;
    const group = tokenBucketGroup(1, 1_000, () => clock);
    const started: string[] = [];
    void group.key('a').schedule({}, async () => started.push('a1'));
    void group.key('a').schedule({}, async () => started.push('a2'));
    void group.key('b').schedule({}, async () => started.push('b1'));
    void group.key('a').schedule({ weight: 0 }, async () => started.push('a-retry'));
    await settle();
    expect(started.sort()).toEqual(['a-retry', 'a1', 'b1']);
  });

  it("passes the job's arguments and answer through", async () => {
    const bucket = tokenBucketGroup(1).key('a');
    expect(await bucket.schedule({}, async (x: number, y: string) => `${x}${y}`, 4, 'x')).toBe('4x');
  });
});

describe('concurrencyGroup', () => {
  it('runs at most maxConcurrent jobs at once and starts the next one as one ends, in order', async () => {
    const group = concurrencyGroup(2).key('a');
    const releases: (() => void)[] = [];
    const started: number[] = [];
    const jobs = [1, 2, 3, 4].map((n) =>
      group.schedule({}, () => {
        started.push(n);
        return new Promise<void>((resolve) => releases.push(resolve));
      }),
    );
    await settle();
    expect(started).toEqual([1, 2]);
    releases[1]!();
    await settle();
    expect(started).toEqual([1, 2, 3]);
    releases[0]!();
    await settle();
    expect(started).toEqual([1, 2, 3, 4]);
    releases[2]!();
    releases[3]!();
    await Promise.all(jobs);
  });

  it('frees its slot when a job fails, and passes the failure on', async () => {
    const group = concurrencyGroup(1).key('a');
    await expect(group.schedule({}, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await group.schedule({}, async () => 'next')).toBe('next');
  });

  it('spaces job starts by minTime', async () => {
    const group = concurrencyGroup(1, 200).key('a');
    const startedAt: number[] = [];
    await Promise.all([1, 2].map(() => group.schedule({}, async () => startedAt.push(Date.now()))));
    expect(startedAt[1]! - startedAt[0]!).toBeGreaterThanOrEqual(195);
  });
});

describe('unlimitedGroup', () => {
  it('runs every job at once', async () => {
    expect(await unlimitedGroup.key('x').schedule({}, async (n: number) => n * 2, 21)).toBe(42);
  });
});

describe('RetryingLimiter (the throttling plugin retry protocol)', () => {
  it('retries after the delay a failed listener asks for, with the attempt count, until it succeeds', async () => {
    const limiter = new RetryingLimiter();
    const seen: number[] = [];
    limiter.on('failed', (_err, info) => {
      seen.push(info.retryCount);
      return info.retryCount < 2 ? 10 : undefined;
    });
    let calls = 0;
    const answer = await limiter.schedule(async (x: string) => {
      calls += 1;
      if (calls < 3) throw new Error('secondary rate limit');
      return x;
    }, 'ok');
    expect(answer).toBe('ok');
    expect(seen).toEqual([0, 1]);
  });

  it('gives up with the original error when no listener asks for a retry, or one throws', async () => {
    const limiter = new RetryingLimiter();
    limiter.on('failed', () => {
      throw new TypeError('listener bug');
    });
    limiter.on('ready', () => 5); // only `failed` listeners decide
    await expect(limiter.schedule(async () => Promise.reject(new Error('HTTP 500')))).rejects.toThrow(
      'HTTP 500',
    );
  });

  it('hands the listener the arguments of the job', async () => {
    const limiter = new RetryingLimiter();
    let args: unknown[] = [];
    limiter.on('failed', (_err, info) => {
      args = info.args;
      return undefined;
    });
    await limiter
      .schedule(async (_a: number, _b: string) => Promise.reject(new Error('x')), 1, 'b')
      .catch(() => {});
    expect(args).toEqual([1, 'b']);
  });
});
