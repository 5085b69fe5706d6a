import type { Octokit } from '@octokit/core';
import { retry } from '../retry/retry.js';
import { findOrCreateRetry } from './retry-policy.js';

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
  const { policy, final } = findOrCreateRetry(octokit);
  return retry(async (_signal, attempt) => {
    const found = await final(find());
    // If an earlier attempt of ours failed after GitHub applied it, the object is ours.
    if (found !== undefined) return { value: found, created: attempt > 1 };
    return { value: await create(), created: true };
  }, policy);
}
