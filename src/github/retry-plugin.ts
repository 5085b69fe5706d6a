import type { Octokit } from '@octokit/core';
import type { OctokitOptions } from '@octokit/core/types';
import { retry } from '../retry/retry.js';
import type { RetryPolicy } from './retry-policy.js';

declare module '@octokit/core/types' {
  interface OctokitOptions {
    /** `githubRetryPlugin`'s settings (the option @octokit/plugin-retry used). */
    retry?: { retries?: number; retryAfterBaseValue?: number };
  }
}

/** Answers another attempt cannot change (what @octokit/plugin-retry leaves alone too). */
const FINAL_STATUSES = new Set([400, 401, 403, 404, 410, 422, 451]);

/**
 * A failed GitHub request worth another attempt: an HTTP answer of 408, 409, 429 or 5xx, or a
 * network failure (which @octokit/request reports as status 500). Rate limits are the
 * throttling plugin's: it waits out `retry-after` itself.
 */
export function isRetryableGithubError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { status, request } = err as { status?: unknown; request?: unknown };
  return request !== undefined && typeof status === 'number' && status >= 400 && !FINAL_STATUSES.has(status);
}

/**
 * Octokit plugin: retries a request that failed transiently, `retries` more times after
 * n² × `retryAfterBaseValue` ms (1, 4, 9 s by default), through Shipgate's one retry helper.
 * `request: { retries: 0 }` turns it off for one call (a POST that is not idempotent; the
 * find-or-create helpers retry those themselves, after looking first). An aborted
 * `request.signal` ends the retries at once.
 *
 * It stands in for @octokit/plugin-retry, which ran every request through a new Bottleneck
 * limiter of its own: ~4.5 ms of timer hops per request before it was sent (BENCHMARKS.md,
 * "Pipeline"), and the same schedule and statuses otherwise. It also exposes the instance's
 * policy (`shipgateRetryPolicy`), so the find-or-create loops back off exactly like it.
 */
export function githubRetryPlugin(
  octokit: Octokit,
  options: OctokitOptions,
): { shipgateRetryPolicy: RetryPolicy } {
  const policy: RetryPolicy = {
    retries: options.retry?.retries ?? 3,
    retryAfterBaseMs: options.retry?.retryAfterBaseValue ?? 1_000,
  };
  octokit.hook.wrap('request', (request, requestOptions) => {
    const call = requestOptions.request as { retries?: number; signal?: AbortSignal } | undefined;
    const retries = call?.retries ?? policy.retries;
    if (retries <= 0) return request(requestOptions);
    return retry(
      async () => request(requestOptions),
      {
        attempts: retries + 1,
        retryable: isRetryableGithubError,
        requestedDelayMs: (_err, attempt) => attempt ** 2 * policy.retryAfterBaseMs,
      },
      call?.signal,
    );
  });
  return { shipgateRetryPolicy: policy };
}
