import type { Octokit } from '@octokit/core';
import { isRetryable } from '../errors.js';
import type { RetryPolicy as SharedRetryPolicy } from '../retry/retry.js';

export interface RetryPolicy {
  /** Attempts after the first one. */
  retries: number;
  /** Multiplier in ms for the quadratic backoff (1, 4, 9 … units). */
  retryAfterBaseMs: number;
}

const DEFAULT_POLICY: RetryPolicy = { retries: 3, retryAfterBaseMs: 1000 };

/** The instance's retry settings, as `githubRetryPlugin` exposes them (or the defaults). */
export function retryPolicyOf(octokit: Octokit): RetryPolicy {
  return (octokit as Partial<{ shipgateRetryPolicy: RetryPolicy }>).shipgateRetryPolicy ?? DEFAULT_POLICY;
}

/**
 * The instance's schedule as a src/retry policy for the find-or-create loops: `retries` more
 * attempts, waiting (n² × retryAfterBaseMs) after the n-th, on retryable errors only. An error
 * passed through `final` is never retried (a failed look-up: the client's own retries already
 * had their go at a GET).
 */
export function findOrCreateRetry(octokit: Octokit): {
  policy: SharedRetryPolicy;
  final<T>(work: Promise<T>): Promise<T>;
} {
  const { retries, retryAfterBaseMs } = retryPolicyOf(octokit);
  const finals = new WeakSet<object>();
  return {
    policy: {
      attempts: retries + 1,
      retryable: (err) => !(typeof err === 'object' && err !== null && finals.has(err)) && isRetryable(err),
      requestedDelayMs: (_err, attempt) => attempt ** 2 * retryAfterBaseMs,
    },
    final: (work) =>
      work.catch((err: unknown) => {
        if (typeof err === 'object' && err !== null) finals.add(err);
        throw err;
      }),
  };
}
