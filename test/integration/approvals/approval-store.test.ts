import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalStore, type RecordClickInput } from '../../../src/approvals/approval-store.js';
import type { ApprovalRule } from '../../../src/approvals/types.js';
import { deleteKeysWithPrefix, testRedis, uniquePrefix } from '../../support/redis.js';
import type { RedisClient } from '../../../src/redis/connection.js';

const rule = (required: number): ApprovalRule => ({
  approvers: { users: [], userGroups: ['S0PLATFORM'] },
  required,
  releaserMayApprove: false,
  expiresAfterHours: 24,
  channel: 'C0PROD',
});
// Near the real clock: Redis TTLs (retention) are counted from expiresAt.
const t0 = new Date(Math.floor(Date.now() / 1000) * 1000);
const later = (ms: number) => new Date(t0.getTime() + ms);
const expiresAt = later(24 * 3600_000);

describe('ApprovalStore (real Redis)', () => {
  let redis: RedisClient;
  let prefix: string;
  let store: ApprovalStore;

  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(() => {
    redis.disconnect();
  });
  beforeEach(() => {
    prefix = uniquePrefix('approvals');
    store = new ApprovalStore(redis, prefix);
  });
  afterEach(async () => {
    await deleteKeysWithPrefix(prefix);
  });

  async function open(runId = 'run-1', required = 1, app = 'payments') {
    const { request } = await store.openRequest(
      {
        runId,
        env: 'production',
        app,
        rule: rule(required),
        expiresAt,
        channel: 'C0PROD',
        releaserSlackId: 'U0CAROL',
      },
      t0,
    );
    return request;
  }
  const click = (
    nonce: string,
    userId: string,
    decision: 'approve' | 'reject' = 'approve',
    at = later(1000),
  ) =>
    ({
      runId: 'run-1',
      env: 'production',
      userId,
      decision,
      now: at,
      via: 'slack',
      nonce,
    }) as RecordClickInput;

  it('opens a request with a fresh nonce and returns the same one on a retried open', async () => {
    const first = await store.openRequest(
      { runId: 'run-1', env: 'production', app: 'payments', rule: rule(2), expiresAt, channel: 'C0PROD' },
      t0,
    );
    expect(first.created).toBe(true);
    expect(first.request).toMatchObject({ status: 'open', version: 1, renderedVersion: 0, votes: [] });
    expect(first.request.nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(first.request.releaserSlackId).toBeUndefined();
    const again = await store.openRequest(
      { runId: 'run-1', env: 'production', app: 'payments', rule: rule(5), expiresAt, channel: 'C0OTHER' },
      t0,
    );
    expect(again.created).toBe(false);
    expect(again.request.nonce).toBe(first.request.nonce);
    expect(again.request.rule.required).toBe(2);
    const ttl = await redis.pttl(`${prefix}:{approval:run-1:production}`);
    expect(ttl).toBeGreaterThan(0);
  });

  it('approves with one click when one approval is needed, exactly once', async () => {
    const { nonce } = await open();
    const first = await store.recordClick({ ...click(nonce, 'U0ALICE'), userName: 'alice' });
    expect(first).toMatchObject({ outcome: 'approved', status: 'approved', decided: true });
    expect(first.approvers).toEqual([
      { userId: 'U0ALICE', userName: 'alice', decision: 'approve', at: later(1000) },
    ]);
    expect(await store.recordClick(click(nonce, 'U0ALICE'))).toMatchObject({
      outcome: 'duplicate',
      decided: false,
    });
    expect(await store.recordClick(click(nonce, 'U0BOB'))).toMatchObject({
      outcome: 'closed',
      status: 'approved',
    });
    expect(await store.getRequest('run-1', 'production')).toMatchObject({
      status: 'approved',
      decidedBy: 'U0ALICE',
      decidedAt: later(1000),
    });
  });

  it('needs N distinct approvers: repeats by one person do not count', async () => {
    const { nonce } = await open('run-1', 3);
    expect((await store.recordClick(click(nonce, 'U0ALICE'))).outcome).toBe('recorded');
    expect((await store.recordClick(click(nonce, 'U0ALICE'))).outcome).toBe('duplicate');
    expect((await store.recordClick(click(nonce, 'U0ALICE'))).outcome).toBe('duplicate');
    const second = await store.recordClick(click(nonce, 'U0BOB', 'approve', later(2000)));
    expect(second).toMatchObject({ outcome: 'recorded', status: 'open' });
    expect(second.approvers.map((a) => a.userId)).toEqual(['U0ALICE', 'U0BOB']);
    const third = await store.recordClick(click(nonce, 'U0DAN', 'approve', later(3000)));
    expect(third).toMatchObject({ outcome: 'approved', decided: true });
    expect(third.approvers.map((a) => a.userId)).toEqual(['U0ALICE', 'U0BOB', 'U0DAN']);
  });

  it('closes as rejected on any reject, even after approvals', async () => {
    const { nonce } = await open('run-1', 2);
    await store.recordClick(click(nonce, 'U0ALICE'));
    const rejected = await store.recordClick(click(nonce, 'U0BOB', 'reject', later(2000)));
    expect(rejected).toMatchObject({ outcome: 'rejected', status: 'rejected', decided: true });
    expect(rejected.rejectedBy).toMatchObject({ userId: 'U0BOB', decision: 'reject' });
    expect(await store.recordClick(click(nonce, 'U0DAN'))).toMatchObject({
      outcome: 'closed',
      status: 'rejected',
    });
  });

  it('expires: a click after expiresAt closes it as expired, once; later clicks see expired', async () => {
    const { nonce } = await open();
    const late = await store.recordClick(click(nonce, 'U0ALICE', 'approve', expiresAt));
    expect(late).toMatchObject({ outcome: 'expired', status: 'expired', decided: true, approvers: [] });
    expect(await store.recordClick(click(nonce, 'U0BOB', 'approve', later(1000)))).toMatchObject({
      outcome: 'expired',
      decided: false,
    });
    expect(await store.expire('run-1', 'production', later(48 * 3600_000))).toBe(false);
  });

  it('expires from a scheduled job only when due, and only once', async () => {
    await open();
    expect(await store.expire('run-1', 'production', later(1000))).toBe(false);
    expect(await store.expire('run-1', 'production', expiresAt)).toBe(true);
    expect(await store.expire('run-1', 'production', later(48 * 3600_000))).toBe(false);
    expect((await store.getRequest('run-1', 'production'))?.status).toBe('expired');
  });

  it('answers unknown for a wrong nonce or an unknown run, changing nothing', async () => {
    const { nonce } = await open('run-1', 2);
    expect(await store.recordClick(click('AAAAAAAAAAAAAAAAAAAAAA', 'U0ALICE'))).toEqual({
      outcome: 'unknown',
      status: undefined,
      decided: false,
      approvers: [],
    });
    expect((await store.recordClick({ ...click(nonce, 'U0ALICE'), runId: 'run-404' })).outcome).toBe(
      'unknown',
    );
    expect(await redis.exists(`${prefix}:{approval:run-404:production}`)).toBe(0);
    const request = await store.getRequest('run-1', 'production');
    expect(request).toMatchObject({ status: 'open', version: 1, votes: [] });
  });

  it('lets the API path record without a nonce', async () => {
    await open();
    const result = await store.recordClick({
      runId: 'run-1',
      env: 'production',
      userId: 'U0ALICE',
      decision: 'approve',
      now: later(1000),
      via: 'api',
    });
    expect(result.outcome).toBe('approved');
  });

  it('supersedes an open older run when a newer one opens for the same app and environment', async () => {
    const old = await open('run-1', 1);
    const opened = await store.openRequest(
      { runId: 'run-2', env: 'production', app: 'payments', rule: rule(1), expiresAt, channel: 'C0PROD' },
      later(5000),
    );
    expect(opened.supersededRunId).toBe('run-1');
    expect(await store.getRequest('run-1', 'production')).toMatchObject({
      status: 'superseded',
      decidedBy: 'run-2',
    });
    expect(await store.recordClick(click(old.nonce, 'U0ALICE'))).toMatchObject({
      outcome: 'closed',
      status: 'superseded',
    });
    // Another app is independent.
    const other = await store.openRequest(
      { runId: 'run-3', env: 'production', app: 'search', rule: rule(1), expiresAt, channel: 'C0PROD' },
      later(6000),
    );
    expect(other.supersededRunId).toBeUndefined();
    expect((await store.getRequest('run-2', 'production'))?.status).toBe('open');
  });

  it('completes the supersede on a retry when the opener died between its steps', async () => {
    await open('run-1', 1);
    // What a crash right after step 1 leaves for run-2: the request, unlinked, the pointer unmoved.
    await store.openRequest(
      { runId: 'run-2', env: 'production', app: 'payments', rule: rule(1), expiresAt, channel: 'C0PROD' },
      later(5000),
    );
    await redis.hset(store.requestKey('run-2', 'production'), 'linked', 0);
    await redis.hset(store.requestKey('run-1', 'production'), 'status', 'open');
    await redis.set(
      store.currentKey('payments', 'production'),
      `${t0.getTime()}\n${store.requestKey('run-1', 'production')}`,
    );
    const retried = await store.openRequest(
      { runId: 'run-2', env: 'production', app: 'payments', rule: rule(1), expiresAt, channel: 'C0PROD' },
      later(9000),
    );
    expect(retried).toMatchObject({ created: false, supersededRunId: 'run-1', request: { status: 'open' } });
    expect((await store.getRequest('run-1', 'production'))?.status).toBe('superseded');
    // An older run's late retry does not take the pointer back: it is superseded itself.
    await redis.hset(store.requestKey('run-1', 'production'), 'status', 'open', 'linked', 0);
    const late = await open('run-1', 1);
    expect(late.status).toBe('superseded');
    expect((await store.getRequest('run-2', 'production'))?.status).toBe('open');
  });

  it('makes exactly one decision out of 50 concurrent clicks by distinct approvers', async () => {
    const { nonce } = await open('run-1', 3);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => store.recordClick(click(nonce, `U0USER${i}`))),
    );
    const outcomes = results.map((r) => r.outcome);
    expect(outcomes.filter((o) => o === 'approved')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'recorded')).toHaveLength(2);
    expect(outcomes.filter((o) => o === 'closed')).toHaveLength(47);
    expect(results.filter((r) => r.decided)).toHaveLength(1);
    const request = await store.getRequest('run-1', 'production');
    expect(request?.votes).toHaveLength(3);
  });

  it('makes exactly one decision out of concurrent approves and rejects', async () => {
    const { nonce } = await open('run-1', 1);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        store.recordClick(click(nonce, `U0USER${i}`, i % 2 ? 'reject' : 'approve')),
      ),
    );
    const decided = results.filter((r) => r.decided);
    expect(decided).toHaveLength(1);
    const final = await store.getRequest('run-1', 'production');
    expect(final?.status).toBe(decided[0]?.outcome);
  });

  it('keeps rendered versions monotonic', async () => {
    const { nonce } = await open('run-1', 2);
    await store.recordClick(click(nonce, 'U0ALICE'));
    expect(await store.markRendered('run-1', 'production', 2)).toBe(true);
    expect(await store.markRendered('run-1', 'production', 1)).toBe(false);
    expect(await store.markRendered('run-1', 'production', 2)).toBe(false);
  });
});
