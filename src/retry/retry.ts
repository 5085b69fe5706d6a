import { setTimeout as sleep } from 'node:timers/promises';
import { ShipgateError } from '../errors.js';

/**
 * How an operation is retried. One policy object per kind of call (a GitHub write, an Argo CD
 * sync, a git push), so the jitter and abort rules live here once instead of in each client.
 */
export interface RetryPolicy {
  /**
   * Attempts in all, the first included.
   * @defaultValue 3
   */
  attempts?: number;
  /**
   * Upper bound of the first back-off; later ones double up to `maxDelayMs`.
   * @defaultValue 200
   */
  minDelayMs?: number;
  /**
   * Cap on any single back-off.
   * @defaultValue 5_000
   */
  maxDelayMs?: number;
  /**
   * Each attempt gets its own `AbortSignal.timeout` of this length, combined with the caller's
   * signal, so a timed-out attempt is cancelled rather than left running behind a race.
   * @defaultValue none: only the caller's signal bounds an attempt
   */
  attemptTimeoutMs?: number;
  /**
   * Whether `err` is worth another attempt.
   * @defaultValue a `ShipgateError`'s own `retryable` flag; any other error is retried
   */
  retryable?: (err: unknown) => boolean;
  /**
   * A delay the other side asked for (for example `Retry-After`), or a schedule of its own (the
   * GitHub clients' quadratic one), used instead of the back-off. `attempt` is the one that failed.
   * @defaultValue none
   */
  requestedDelayMs?: (err: unknown, attempt: number) => number | undefined;
  /** Called before each back-off, for logs and metrics. */
  onRetry?: (info: { err: unknown; attempt: number; delayMs: number }) => void;
  /**
   * `full` spreads retries over the whole back-off window (best for many clients hitting one
   * server); `equal` waits at least half of it, so a fixed number of attempts is guaranteed to
   * span a known time: what a step that must ride out an outage of a few seconds needs.
   * @defaultValue 'full'
   */
  jitter?: 'full' | 'equal';
  /**
   * Where the jitter comes from; tests pass a fixed one.
   * @defaultValue Math.random
   */
  random?: () => number;
  /**
   * How a back-off is waited; tests pass one that records the delay and returns at once. Must
   * reject when `signal` aborts.
   * @defaultValue `setTimeout` from node:timers/promises
   */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

const defaultSleep = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal });

/** Retries are for transient failures: a ShipgateError says which it is, anything else is unknown. */
export function defaultRetryable(err: unknown): boolean {
  return err instanceof ShipgateError ? err.retryable : true;
}

/** Exponential back-off with full or equal jitter (AWS's "exponential backoff and jitter"), in ms. */
export function backoffDelayMs(
  attempt: number,
  policy: Pick<RetryPolicy, 'minDelayMs' | 'maxDelayMs' | 'random' | 'jitter'> = {},
): number {
  const min = policy.minDelayMs ?? 200;
  const max = policy.maxDelayMs ?? 5_000;
  const random = policy.random ?? Math.random;
  const window = Math.min(max, min * 2 ** (attempt - 1));
  if (policy.jitter === 'equal') return Math.floor(window / 2 + random() * (window / 2));
  return Math.floor(random() * window);
}

/**
 * Runs `fn` until it succeeds, the policy gives up, or `signal` aborts. `fn` receives the
 * signal for this attempt (the caller's signal, plus the attempt timeout if one is set) and
 * must pass it to whatever it waits on. An abort by the caller is never retried: it rejects
 * with the signal's reason at once, also during a back-off.
 */
export async function retry<T>(
  fn: (signal: AbortSignal, attempt: number) => Promise<T>,
  policy: RetryPolicy = {},
  signal: AbortSignal = new AbortController().signal,
): Promise<T> {
  const attempts = Math.max(1, policy.attempts ?? 3);
  const retryable = policy.retryable ?? defaultRetryable;
  for (let attempt = 1; ; attempt++) {
    signal.throwIfAborted();
    const attemptSignal =
      policy.attemptTimeoutMs === undefined
        ? signal
        : AbortSignal.any([signal, AbortSignal.timeout(policy.attemptTimeoutMs)]);
    try {
      return await fn(attemptSignal, attempt);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      if (attempt >= attempts || !retryable(err)) throw err;
      const delayMs = policy.requestedDelayMs?.(err, attempt) ?? backoffDelayMs(attempt, policy);
      policy.onRetry?.({ err, attempt, delayMs });
      // timers/promises rejects with its own AbortError; callers expect the reason they gave.
      await (policy.sleep ?? defaultSleep)(delayMs, signal).catch((err: unknown) => {
        signal.throwIfAborted();
        throw err;
      });
    }
  }
}
