import type { Octokit } from '@octokit/core';

export interface RetryPolicy {
  /** Attempts after the first one. */
  retries: number;
  /** Multiplier in ms for the quadratic backoff (1, 4, 9 … units), as @octokit/plugin-retry does. */
  retryAfterBaseMs: number;
}

const DEFAULT_POLICY: RetryPolicy = { retries: 3, retryAfterBaseMs: 1000 };

/**
 * An Octokit plugin that exposes the retry settings the instance was built with, so the
 * find-or-create helpers (which turn off the plugin's own retry for non-idempotent POSTs)
 * back off exactly like every other call. Installation Octokits made by @octokit/app are
 * built from the same options, so they carry it too.
 */
export function retryPolicyPlugin(
  _octokit: Octokit,
  options: { retry?: { retries?: number; retryAfterBaseValue?: number } },
): { shipgateRetryPolicy: RetryPolicy } {
  return {
    shipgateRetryPolicy: {
      retries: options.retry?.retries ?? DEFAULT_POLICY.retries,
      retryAfterBaseMs: options.retry?.retryAfterBaseValue ?? DEFAULT_POLICY.retryAfterBaseMs,
    },
  };
}

export function retryPolicyOf(octokit: Octokit): RetryPolicy {
  return (octokit as Partial<{ shipgateRetryPolicy: RetryPolicy }>).shipgateRetryPolicy ?? DEFAULT_POLICY;
}
