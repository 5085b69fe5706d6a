/**
 * Counts rejected requests (bad signature, malformed headers, forged Slack clicks) per client in
 * fixed windows. It never counts a request that passed verification, so a genuine sender that
 * shares an address with an attacker (a proxy, smee, a NAT) is never throttled for the attacker's
 * failures; it only loses the right to send large unverified bodies while that address is over
 * its limit (see the webhook route).
 *
 * In memory and per process on purpose: it decides in `onRequest`, before any body byte is read,
 * where a Redis round trip per request would be the cost it exists to avoid.
 */
export interface RejectionLimiter {
  /** Seconds until `client` is under its limit again; 0 when it is under it now. */
  blockedFor(client: string): number;
  /** Counts one rejected request of `client`. */
  record(client: string): void;
}

export interface RejectionLimiterOptions {
  /** Rejected requests per client per window. */
  max: number;
  timeWindowMs: number;
  /** Clients remembered at once; the oldest is forgotten first. @defaultValue 10000 */
  maxClients?: number;
  /** @defaultValue `Date.now` (a function, so tests can move time). */
  now?: () => number;
}

interface Window {
  count: number;
  resetAt: number;
}

export function createRejectionLimiter(options: RejectionLimiterOptions): RejectionLimiter {
  const { max, timeWindowMs } = options;
  const maxClients = options.maxClients ?? 10_000;
  const now = options.now ?? Date.now;
  // A Map iterates in insertion order, so its first key is the least recently started window.
  const windows = new Map<string, Window>();

  function current(client: string, t: number): Window | undefined {
    const w = windows.get(client);
    if (w !== undefined && w.resetAt <= t) {
      windows.delete(client);
      return undefined;
    }
    return w;
  }

  return {
    blockedFor(client) {
      const t = now();
      const w = current(client, t);
      return w === undefined || w.count < max ? 0 : Math.max(1, Math.ceil((w.resetAt - t) / 1000));
    },
    record(client) {
      const t = now();
      const w = current(client, t);
      if (w !== undefined) {
        w.count += 1;
        return;
      }
      if (windows.size >= maxClients) windows.delete(windows.keys().next().value as string);
      windows.set(client, { count: 1, resetAt: t + timeWindowMs });
    },
  };
}
