import { Observable, type ConfigurationOptions, type ObservableMiddleware } from '@kubernetes/client-node';
import { ExecutorFailed } from '../errors.js';
import { retry } from '../retry/retry.js';
import { untilAborted } from '../retry/until-aborted.js';

/** The HTTP status of a client-node ApiException (or a watch error), if any. */
export function httpStatusOf(err: unknown): number | undefined {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; statusCode?: unknown };
    if (typeof e.code === 'number') return e.code;
    if (typeof e.statusCode === 'number') return e.statusCode;
  }
  return undefined;
}

export interface KubeCallOptions {
  timeoutMs: number;
  /** Extra attempts on 429, 5xx, timeouts and network errors. @defaultValue 3 */
  retries?: number;
  /** The caller's cancellation: ends the call and its retries at once. */
  signal?: AbortSignal | undefined;
}

/**
 * client-node request options that cancel the HTTP request when `signal` aborts (the request
 * context hands the signal to its fetch), added to `options` (e.g. `setHeaderOptions(…)`).
 */
export function withSignal(
  signal: AbortSignal,
  options?: ConfigurationOptions<ObservableMiddleware>,
): ConfigurationOptions<ObservableMiddleware> {
  const cancel: ObservableMiddleware = {
    pre: (request) => {
      request.setSignal(signal);
      return new Observable(Promise.resolve(request));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  return {
    ...options,
    middleware: [...(options?.middleware ?? []), cancel],
    // Keep the client's own middleware and the caller's.
    middlewareMergeStrategy: 'append',
  };
}

const retryableStatus = (err: unknown) => {
  const status = httpStatusOf(err);
  return status === undefined || status >= 500 || status === 429;
};

/**
 * One Kubernetes API call with a timeout per attempt and retries with backoff on transient
 * failures. `fn` gets the attempt's signal: pass it on with `withSignal`, so a timed-out
 * request is cancelled, not left running. Client errors (4xx but 429) are rethrown as they are
 * for the caller to interpret (404, 409). Only safe for idempotent calls; every call the
 * executor makes is (names are deterministic).
 */
export async function kubeCall<T>(
  what: string,
  fn: (signal: AbortSignal) => Promise<T>,
  options: KubeCallOptions,
): Promise<T> {
  const timeoutMs = options.timeoutMs;
  try {
    return await retry(
      async (signal) => {
        try {
          return await untilAborted(fn(signal), signal);
        } catch (err) {
          if (!signal.aborted || options.signal?.aborted) throw err;
          throw Object.assign(new Error(`timed out after ${timeoutMs} ms`), { timeout: true, cause: err });
        }
      },
      {
        attempts: (options.retries ?? 3) + 1,
        attemptTimeoutMs: timeoutMs,
        retryable: retryableStatus,
        // 200 ms doubling to 3 s, without jitter: one executor per worker, not a herd.
        requestedDelayMs: (_err, attempt) => Math.min(200 * 2 ** (attempt - 1), 3_000),
      },
      options.signal,
    );
  } catch (err) {
    if (options.signal?.aborted || !retryableStatus(err)) throw err;
    const status = httpStatusOf(err);
    const reason = status !== undefined ? `HTTP ${status}` : (err as Error).message.split('\n')[0];
    throw ExecutorFailed('kubernetes', `${what}: ${reason}`, { cause: err });
  }
}
