import { describe, expect, it } from 'vitest';
import { nextCursor, parseSince, planRedeliveries } from '../../../src/redelivery/plan-redeliveries.js';
import type { HookDelivery } from '../../../src/redelivery/schema.js';

let id = 100;
const d = (
  guid: string,
  at: string,
  status_code: number,
  event = 'push',
  action: string | null = null,
): HookDelivery => ({
  id: ++id,
  guid,
  delivered_at: at,
  redelivery: false,
  duration: 0.1,
  status: status_code === 202 ? 'OK' : 'failed',
  status_code,
  event,
  action,
  installation_id: 1,
  repository_id: 2,
});

describe('planRedeliveries', () => {
  const since = new Date('2026-01-01T00:00:00Z');
  it('groups attempts by guid and picks the newest attempt of each failed guid, oldest first', () => {
    const a1 = d('a', '2026-01-01T01:00:00Z', 503);
    const a2 = d('a', '2026-01-01T02:00:00Z', 0);
    const b1 = d('b', '2026-01-01T00:30:00Z', 500, 'pull_request', 'opened');
    const ok = [d('c', '2026-01-01T01:00:00Z', 503), d('c', '2026-01-01T01:05:00Z', 200)];
    const plan = planRedeliveries([a2, ok[1]!, a1, ok[0]!, b1], since);
    expect(plan.map((p) => [p.guid, p.attemptId, p.attempts])).toEqual([
      ['b', b1.id, 1],
      ['a', a2.id, 2],
    ]);
  });
  it('skips guids last tried before `since` and events Shipgate ignores', () => {
    const plan = planRedeliveries(
      [
        d('old', '2025-12-31T23:00:00Z', 503),
        d('star', '2026-01-01T01:00:00Z', 503, 'star', 'created'),
        d('ping', '2026-01-01T01:00:00Z', 503, 'ping'),
      ],
      since,
    );
    expect(plan).toEqual([]);
  });
});

describe('nextCursor', () => {
  it('reads the cursor of rel="next" from a GitHub Link header', () => {
    const link =
      '<https://api.github.com/app/hook/deliveries?per_page=2&cursor=v1_12077215967>; rel="next", <https://api.github.com/app/hook/deliveries?per_page=2>; rel="first"';
    expect(nextCursor(link)).toBe('v1_12077215967');
    expect(nextCursor('<https://x/?cursor=a>; rel="prev"')).toBeUndefined();
    expect(nextCursor(undefined)).toBeUndefined();
  });
});

describe('parseSince', () => {
  const now = new Date('2026-01-02T00:00:00Z');
  it('takes durations and ISO times', () => {
    expect(parseSince('90m', now)?.toISOString()).toBe('2026-01-01T22:30:00.000Z');
    expect(parseSince('2d', now)?.toISOString()).toBe('2025-12-31T00:00:00.000Z');
    expect(parseSince('2026-01-01T12:00:00Z', now)?.toISOString()).toBe('2026-01-01T12:00:00.000Z');
    expect(parseSince('yesterday', now)).toBeUndefined();
    expect(parseSince('12', now)).toBeUndefined();
  });
});
