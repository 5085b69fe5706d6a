/**
 * A `fetch` that gives every call its own deadline. Octokit only takes one static
 * `request.signal` per instance, which would measure the instance's lifetime instead of
 * one request; wrapping fetch gives a fresh timer per attempt, retries included.
 */
export function fetchWithTimeout(
  timeoutMs: number,
  baseFetch: typeof globalThis.fetch = globalThis.fetch,
): typeof globalThis.fetch {
  return async (input, init = {}) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    try {
      return await baseFetch(input, { ...init, signal });
    } catch (err) {
      // @octokit/request turns this into a RequestError (status 500, no response), which
      // the error mapping reports as a retryable GitHub outage with this message.
      if (timeout.aborted) {
        const timedOut = new Error(`request timed out after ${timeoutMs} ms`, { cause: err });
        timedOut.name = 'TimeoutError';
        throw timedOut;
      }
      throw err;
    }
  };
}
