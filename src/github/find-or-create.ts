import type { Octokit } from '@octokit/core';
import { isRetryable } from '../errors.js';
import { retryPolicyOf } from './retry-policy.js';

export interface FindOrCreateResult<T> {
  value: T;
  created: boolean;
}

/**
 * Idempotent creation for GitHub objects that have no idempotency key of their own (check
 * runs, deployments, pull requests). A POST that failed with a 5xx or timed out may still
 * have been applied, so it is never blindly repeated: every new attempt looks first.
 * `create` must send its POST with `request: { retries: 0 }` so the retry plugin does not
 * repeat it behind our back.
 */
export async function findOrCreate<T>(
  octokit: Octokit,
  find: () => Promise<T | undefined>,
  create: () => Promise<T>,
): Promise<FindOrCreateResult<T>> {
  const { retries, retryAfterBaseMs } = retryPolicyOf(octokit);
  let earlierAttemptFailed = false;
  for (let attempt = 0; ; attempt++) {
    const found = await find();
    // If an earlier attempt of ours failed after GitHub applied it, the object is ours.
    if (found !== undefined) return { value: found, created: earlierAttemptFailed };
    try {
      return { value: await create(), created: true };
    } catch (err) {
      if (!isRetryable(err) || attempt >= retries) throw err;
      earlierAttemptFailed = true;
      await sleep((attempt + 1) ** 2 * retryAfterBaseMs);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
