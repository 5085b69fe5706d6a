import { classifyEvent } from '../webhooks/classify-event.js';
import type { HookDelivery } from './schema.js';

export interface FailedDelivery {
  guid: string;
  /** The newest attempt's id: the one to POST `/attempts` for. */
  attemptId: number;
  event: string;
  action: string | null;
  lastDeliveredAt: string;
  attempts: number;
}

function succeeded(d: HookDelivery): boolean {
  return d.status_code >= 200 && d.status_code < 300;
}

/**
 * Pure: which deliveries need a redelivery. Attempts are grouped by `guid` (a redelivery is a
 * new item with the same guid), and a guid is failed when none of its attempts got a 2xx.
 * Only guids with an attempt at or after `since` are considered, and only events Shipgate would
 * enqueue: redelivering a `star` or `ping` would only be acknowledged again.
 */
export function planRedeliveries(deliveries: readonly HookDelivery[], since: Date): FailedDelivery[] {
  const byGuid = new Map<string, HookDelivery[]>();
  for (const d of deliveries) {
    const list = byGuid.get(d.guid);
    if (list === undefined) byGuid.set(d.guid, [d]);
    else list.push(d);
  }
  const sinceMs = since.getTime();
  const failed: FailedDelivery[] = [];
  for (const [guid, attempts] of byGuid) {
    if (attempts.some(succeeded)) continue;
    const newest = attempts.reduce((a, b) =>
      Date.parse(b.delivered_at) > Date.parse(a.delivered_at) ? b : a,
    );
    if (Date.parse(newest.delivered_at) < sinceMs) continue;
    if (classifyEvent(newest.event, newest.action ?? undefined).kind !== 'handled') continue;
    failed.push({
      guid,
      attemptId: newest.id,
      event: newest.event,
      action: newest.action,
      lastDeliveredAt: newest.delivered_at,
      attempts: attempts.length,
    });
  }
  // Oldest first: when the per-sweep bound cuts the list, the longest-waiting go first.
  return failed.sort((a, b) => Date.parse(a.lastDeliveredAt) - Date.parse(b.lastDeliveredAt));
}

/** The `cursor` of the `rel="next"` link in a GitHub `Link` header, if any. */
export function nextCursor(link: string | undefined): string | undefined {
  if (link === undefined) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="next"/.exec(part);
    if (m?.[1] !== undefined) {
      try {
        return new URL(m[1]).searchParams.get('cursor') ?? undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: an ISO 8601 time or a duration back from `now` (`90m`, `6h`, `2d`). */
export function parseSince(value: string, now: Date): Date | undefined {
  const m = /^(\d+)([smhd])$/.exec(value.trim());
  if (m !== null) return new Date(now.getTime() - Number(m[1]) * UNITS[m[2]!]!);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t);
}
