import { describe, expect, it } from 'vitest';
import { defineError } from '../../../src/errors.js';
import { backoffDelayMs, retry } from '../../../src/retry/retry.js';

const Transient = defineError('SHIPGATE_E_TEST_TRANSIENT', 503, true, () => 'transient');
const Permanent = defineError('SHIPGATE_E_TEST_PERMANENT', 400, false, () => 'permanent');
const noDelay = { minDelayMs: 0, maxDelayMs: 0 };

describe('retry', () => {
  it('retries a retryable failure and returns the first success', async () => {
    let calls = 0;
    const value = await retry(
      async () => {
        calls++;
        if (calls < 3) throw Transient();
        return 'ok';
      },
      { attempts: 3, ...noDelay },
    );
    expect(value).toBe('ok');
    expect(calls).toBe(3);
  });

  it('gives up after the last attempt with the last error', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw Transient();
        },
        { attempts: 4, ...noDelay },
      ),
    ).rejects.toMatchObject({ code: 'SHIPGATE_E_TEST_TRANSIENT' });
    expect(calls).toBe(4);
  });

  it('never retries an error that says it is not retryable', async () => {
    let calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw Permanent();
        },
        { attempts: 5, ...noDelay },
      ),
    ).rejects.toMatchObject({ code: 'SHIPGATE_E_TEST_PERMANENT' });
    expect(calls).toBe(1);
  });

  it('stops during a back-off when the caller aborts, with the abort reason', async () => {
    const controller = new AbortController();
    const reason = new Error('lease lost');
    const pending = retry(
      async () => {
        throw Transient();
      },
      { attempts: 10, minDelayMs: 60_000, maxDelayMs: 60_000, random: () => 1 },
      controller.signal,
    );
    setTimeout(() => controller.abort(reason), 20);
    await expect(pending).rejects.toBe(reason);
  });

  it('cancels a timed-out attempt through its signal and tries again', async () => {
    const seen: boolean[] = [];
    const value = await retry(
      async (signal, attempt) => {
        if (attempt === 1) {
          await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
        }
        seen.push(signal.aborted);
        return attempt;
      },
      { attempts: 2, attemptTimeoutMs: 20, ...noDelay },
    );
    expect(value).toBe(2);
    expect(seen).toEqual([false]);
  });

  it('uses a delay the other side asked for instead of the back-off', async () => {
    const delays: number[] = [];
    let calls = 0;
    await retry(
      async () => {
        if (++calls === 1) throw Transient();
      },
      { attempts: 2, requestedDelayMs: () => 5, onRetry: ({ delayMs }) => delays.push(delayMs) },
    );
    expect(delays).toEqual([5]);
  });

  it('a schedule of its own gets the failed attempt; an injected sleep waits it (tests move time)', async () => {
    const slept: number[] = [];
    let calls = 0;
    const value = await retry(
      async (_signal, attempt) => {
        if (++calls < 4) throw Transient();
        return attempt;
      },
      {
        attempts: 4,
        requestedDelayMs: (_err, attempt) => attempt ** 2 * 10,
        sleep: async (ms) => {
          slept.push(ms);
        },
      },
    );
    expect(value).toBe(4);
    expect(slept).toEqual([10, 40, 90]);
  });

  it("an abort during an injected sleep rejects with the caller's reason", async () => {
    const controller = new AbortController();
    const err = await retry(
      async () => {
        throw Transient();
      },
      {
        attempts: 3,
        sleep: (_ms, signal) =>
          new Promise((_resolve, reject) => {
            signal.addEventListener('abort', () => reject(new Error('sleep aborted')), { once: true });
            controller.abort(new Error('lease lost'));
          }),
      },
      controller.signal,
    ).catch((e: unknown) => e);
    expect((err as Error).message).toBe('lease lost');
  });
});

describe('backoffDelayMs', () => {
  it('doubles up to the cap, with full jitter below it', () => {
    const top = { minDelayMs: 100, maxDelayMs: 1_000, random: () => 0.999999 };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, top))).toEqual([99, 199, 399, 799, 999]);
    expect(backoffDelayMs(3, { ...top, random: () => 0 })).toBe(0);
  });

  it('with equal jitter waits at least half of each window, so attempts span a known time', () => {
    const policy = { minDelayMs: 100, maxDelayMs: 1000, jitter: 'equal' as const };
    expect([1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, { ...policy, random: () => 0 }))).toEqual([
      50, 100, 200, 400, 500,
    ]);
    expect(backoffDelayMs(3, { ...policy, random: () => 0.999 })).toBe(399);
  });
});
