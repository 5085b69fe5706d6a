import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The limiters `@octokit/plugin-throttling` runs every GitHub request through, without
 * Bottleneck's cost. Bottleneck yields to the timer queue several times per job: 4.5 ms a job
 * measured on an idle machine, with no limit reached. Every request passes the retry limiter
 * and the global (or auth) group, and every write the write group too, so a read paid ~9 ms and
 * a write ~14 ms before it was sent; a release makes a dozen of each (BENCHMARKS.md, "Pipeline").
 * These keep the plugin's rules (the same groups, limits and retry protocol) and cost nothing
 * while there is room.
 *
 * The plugin calls `group.key(id).schedule(options, fn, ...args)`, where `options.weight === 0`
 * marks a retry (it takes no slot and no token), and `retryLimiter.schedule(fn, ...args)` with
 * a `failed` listener that answers a delay in ms to retry after, or nothing to give up.
 */

interface JobOptions {
  weight?: number;
}

type Job<A extends unknown[], R> = (...args: A) => R | Promise<R>;

interface Limiter {
  schedule<A extends unknown[], R>(options: JobOptions, fn: Job<A, R>, ...args: A): Promise<R>;
  /** True when forgetting this limiter would change nothing (a fresh one is the same). */
  idle(): boolean;
}

export interface LimiterGroup {
  key(id: string): Pick<Limiter, 'schedule'>;
}

/** One limiter per key (an installation, or the App), made on first use. */
function keyedGroup(make: () => Limiter): LimiterGroup {
  const limiters = new Map<string, Limiter>();
  return {
    key(id) {
      let limiter = limiters.get(id);
      if (limiter === undefined) {
        // Installations come and go: drop the limiters that hold no state before adding one.
        if (limiters.size >= 1024) for (const [k, l] of limiters) if (l.idle()) limiters.delete(k);
        limiter = make();
        limiters.set(id, limiter);
      }
      return limiter;
    },
  };
}

/**
 * At most `maxConcurrent` jobs at once, and job starts at least `minTimeMs` apart, in arrival
 * order (Bottleneck's `maxConcurrent` and `minTime`).
 */
export function concurrencyGroup(maxConcurrent: number, minTimeMs = 0): LimiterGroup {
  return keyedGroup(() => {
    let active = 0;
    let lastStart = -Infinity;
    const waiting: (() => void)[] = [];
    let timer: NodeJS.Timeout | undefined;

    const startNext = () => {
      while (waiting.length > 0 && active < maxConcurrent && timer === undefined) {
        const wait = lastStart + minTimeMs - Date.now();
        if (wait > 0) {
          timer = setTimeout(() => {
            timer = undefined;
            startNext();
          }, wait);
          return;
        }
        active += 1;
        lastStart = Date.now();
        waiting.shift()!();
      }
    };
    const release = () => {
      active -= 1;
      startNext();
    };

    return {
      async schedule(options, fn, ...args) {
        if (options.weight === 0) return fn(...args);
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          startNext();
        });
        try {
          return await fn(...args);
        } finally {
          release();
        }
      },
      idle: () => active === 0 && waiting.length === 0 && Date.now() - lastStart >= minTimeMs,
    };
  });
}

/**
 * A token bucket: `burst` jobs at once, then one more every `intervalMs`, first come first
 * served (Bottleneck's reservoir with `reservoirIncreaseAmount: 1` up to `burst`). Tokens are
 * counted from the clock when asked for, so a full bucket runs no timer.
 */
export function tokenBucketGroup(burst: number, intervalMs = 1_000, now = Date.now): LimiterGroup {
  const size = Math.max(1, Math.floor(burst));
  return keyedGroup(() => {
    let tokens = size;
    let refilledAt = now();
    const waiting: (() => void)[] = [];
    let timer: NodeJS.Timeout | undefined;

    const refill = () => {
      const t = now();
      const gained = Math.floor((t - refilledAt) / intervalMs);
      if (gained <= 0) return;
      tokens = Math.min(size, tokens + gained);
      // A full bucket starts counting again from now; otherwise keep the partial interval.
      refilledAt = tokens === size ? t : refilledAt + gained * intervalMs;
    };
    const serve = () => {
      refill();
      while (tokens > 0 && waiting.length > 0) {
        tokens -= 1;
        waiting.shift()!();
      }
      if (waiting.length > 0 && timer === undefined) {
        timer = setTimeout(
          () => {
            timer = undefined;
            serve();
          },
          Math.max(1, refilledAt + intervalMs - now()),
        );
      }
    };

    return {
      async schedule(options, fn, ...args) {
        if (options.weight !== 0) {
          await new Promise<void>((resolve) => {
            waiting.push(resolve);
            serve();
          });
        }
        return fn(...args);
      },
      idle: () => {
        refill();
        return tokens === size && waiting.length === 0;
      },
    };
  });
}

/** A group that never waits (write pacing off). */
export const unlimitedGroup: LimiterGroup = {
  key: () => ({ schedule: async (_options, fn, ...args) => fn(...args) }),
};

type FailedListener = (
  error: unknown,
  info: { args: unknown[]; retryCount: number },
) => Promise<number | undefined | void> | number | undefined | void;

/**
 * The plugin's retry limiter: runs the request, and when it fails asks the `failed` listeners
 * (the plugin's rate-limit handler) whether to retry and after how many ms.
 */
export class RetryingLimiter {
  private readonly listeners: FailedListener[] = [];

  on(event: string, listener: FailedListener): this {
    if (event === 'failed') this.listeners.push(listener);
    return this;
  }

  async schedule<A extends unknown[], R>(fn: Job<A, R>, ...args: A): Promise<R> {
    for (let retryCount = 0; ; retryCount += 1) {
      try {
        return await fn(...args);
      } catch (error) {
        let retryInMs: number | undefined;
        for (const listener of this.listeners) {
          // A listener that throws decides nothing: the request's own error is what the caller sees.
          const answer = await Promise.resolve()
            .then(() => listener(error, { args, retryCount }))
            .catch(() => undefined);
          if (typeof answer === 'number') retryInMs = answer;
        }
        if (retryInMs === undefined) throw error;
        await sleep(retryInMs);
      }
    }
  }
}
