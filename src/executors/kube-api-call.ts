import { ExecutorFailed } from '../errors.js';

/** The HTTP status of a client-node ApiException (or a watch error), if any. */
export function httpStatusOf(err: unknown): number | undefined {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; statusCode?: unknown };
    if (typeof e.code === 'number') return e.code;
    if (typeof e.statusCode === 'number') return e.statusCode;
  }
  return undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface KubeCallOptions {
  timeoutMs: number;
  /** Extra attempts on 429, 5xx, timeouts and network errors. @defaultValue 3 */
  retries?: number;
}

/**
 * One Kubernetes API call with a timeout and retries with backoff on transient failures.
 * Client errors (4xx but 429) are rethrown as they are for the caller to interpret (404, 409).
 * Only safe for idempotent calls — every call the executor makes is (names are deterministic).
 */
export async function kubeCall<T>(what: string, fn: () => Promise<T>, options: KubeCallOptions): Promise<T> {
  const retries = options.retries ?? 3;
  for (let attempt = 0; ; attempt += 1) {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        fn(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(Object.assign(new Error(`timed out after ${options.timeoutMs} ms`), { timeout: true })),
            options.timeoutMs,
          );
        }),
      ]);
    } catch (err) {
      const status = httpStatusOf(err);
      if (status !== undefined && status < 500 && status !== 429) throw err;
      if (attempt >= retries) {
        const reason = status !== undefined ? `HTTP ${status}` : (err as Error).message.split('\n')[0];
        throw ExecutorFailed('kubernetes', `${what}: ${reason}`, { cause: err });
      }
      await sleep(Math.min(200 * 2 ** attempt, 3_000));
    } finally {
      clearTimeout(timer);
    }
  }
}
