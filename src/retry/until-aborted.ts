/**
 * `work`, or a rejection with the signal's reason as soon as `signal` aborts. A backstop for
 * calls that cannot take a signal (Slack's WebClient, the pod log stream's opening), whose own
 * transport timeout bounds them in the end: the ones that can take a signal are cancelled
 * through it, and use this only to return on time.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    // The work goes on unobserved; its late rejection must not become an unhandled one.
    work.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    void work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
