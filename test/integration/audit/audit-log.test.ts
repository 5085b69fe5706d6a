import Fastify, { type FastifyRequest } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditRoutes } from '../../../src/api/audit-routes.js';
import { AuditLog } from '../../../src/audit/audit-log.js';
import { auditedPolicySource } from '../../../src/audit/audited-policy-source.js';
import {
  recordGateOverrides,
  recordPolicyVersion,
  recordRefusedVote,
  recordRollback,
  recordVote,
} from '../../../src/audit/record-decision.js';
import { sinceTime } from '../../../src/commands/audit.js';
import { Unauthorized } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import type { Policy } from '../../../src/policy/index.js';
import { handleError } from '../../../src/http/error-handler.js';
import { deleteKeysWithPrefix, testRedis, uniquePrefix } from '../../support/redis.js';
import type { RedisClient } from '../../../src/redis/connection.js';

const TOKEN = 'audit-test-token-0123456789';
const requireToken = async (request: FastifyRequest) => {
  if (request.headers.authorization !== `Bearer ${TOKEN}`) throw Unauthorized();
};
const T0 = new Date('2026-02-01T10:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);
const silent = createLogger('silent');

describe('audit trail (Redis stream, API)', () => {
  const prefix = uniquePrefix('audit');
  let redis: RedisClient;
  let audit: AuditLog;

  beforeAll(async () => {
    redis = testRedis();
    audit = new AuditLog(redis, { prefix, now: () => T0 });
    const vote = {
      runId: 'run1',
      env: 'production',
      app: 'web',
      userId: 'U0BOB',
      userName: 'bob',
      decision: 'approve' as const,
      via: 'slack' as const,
      at: minutes(1),
      outcome: 'approved',
    };
    // Every decision kind, each delivered twice (a retried Slack click, a re-run job): lands once.
    for (let i = 0; i < 2; i++) {
      await recordVote(audit, vote);
      await recordVote(audit, {
        ...vote,
        userId: 'U0EVE',
        decision: 'reject',
        via: 'api',
        outcome: 'rejected',
      });
      await recordRefusedVote(audit, {
        ...vote,
        userId: 'U0MAL',
        clickId: '1700000000.1',
        code: 'SHIPGATE_E_APPROVAL_NOT_ALLOWED',
        reason: 'not an approver',
      });
      await recordRollback(audit, {
        runId: 'run2',
        app: 'web',
        env: 'production',
        requestedBy: 'alice',
        via: 'cli',
        at: minutes(2),
        targetSha: 'a'.repeat(40),
        targetTag: 'v1.0.0',
        reason: 'roll web back',
        breakGlass: true,
      });
      await recordPolicyVersion(audit, { commit: 'b'.repeat(40), at: minutes(3) });
      await recordGateOverrides(audit, {
        runId: 'run1',
        app: 'web',
        gate: 'trivy',
        actor: 'octocat',
        at: minutes(4),
        overrides: [{ id: 'CVE-2024-0001', reason: 'not reachable', expires: '2026-03-01', findings: 2 }],
      });
    }
    // The policy source reports a new commit once, however often it is read.
    let commit = 'c'.repeat(40);
    const source = auditedPolicySource(
      { current: async () => ({ policy: {} as Policy, commit }) },
      audit,
      silent,
      () => minutes(5),
    );
    await source.current();
    await source.current();
    commit = 'd'.repeat(40);
    await source.current();
  });

  afterAll(async () => {
    await deleteKeysWithPrefix(prefix);
    redis.disconnect();
  });

  it('keeps every decision once, with actor, time, run, environment, outcome and reason', async () => {
    const { entries, nextCursor } = await audit.list({ limit: 500 });
    expect(nextCursor).toBeNull();
    expect(entries.map((e) => `${e.kind}:${e.actor}:${e.outcome}`)).toEqual([
      'approval:U0BOB:approved',
      'rejection:U0EVE:rejected',
      'approval:U0MAL:refused',
      'rollback:alice:started',
      'policy-version:env-repo:picked-up',
      'gate-override:octocat:ignored',
      'policy-version:env-repo:picked-up',
      'policy-version:env-repo:picked-up',
    ]);
    expect(entries[0]).toMatchObject({
      at: minutes(1).toISOString(),
      runId: 'run1',
      env: 'production',
      via: 'slack',
    });
    expect(entries[3]).toMatchObject({ breakGlass: true, details: { targetTag: 'v1.0.0' }, via: 'cli' });
    expect(entries[5]).toMatchObject({
      details: { rule: 'CVE-2024-0001', expires: '2026-03-01', findings: 2 },
    });
    expect(entries[5]!.reason).toContain('until 2026-03-01');
  });

  it('pages stably while entries are appended, and filters', async () => {
    const page1 = await audit.list({ limit: 3 });
    await recordVote(audit, {
      runId: 'run9',
      env: 'staging',
      userId: 'U0NEW',
      decision: 'approve',
      via: 'slack',
      at: minutes(9),
      outcome: 'approved',
    });
    const page2 = await audit.list({ limit: 3, cursor: page1.nextCursor! });
    const page3 = await audit.list({ limit: 3, cursor: page2.nextCursor! });
    const ids = [...page1.entries, ...page2.entries, ...page3.entries].map((e) => e.id);
    expect(new Set(ids).size).toBe(9);
    expect(page3.entries.at(-1)?.actor).toBe('U0NEW');
    expect(page3.nextCursor).toBe(page3.entries.at(-1)!.id);
    expect((await audit.list({ limit: 3, cursor: page3.nextCursor! })).entries).toEqual([]);

    expect((await audit.list({ kind: 'rollback' })).entries).toHaveLength(1);
    expect((await audit.list({ env: 'staging' })).entries.map((e) => e.actor)).toEqual(['U0NEW']);
    expect((await audit.list({ run: 'run1', kind: 'gate-override' })).entries).toHaveLength(1);
    // Everything so far was written "now" (the stream id is the write time).
    expect((await audit.list({ since: new Date(Date.now() + 60_000).toISOString() })).entries).toEqual([]);
  });

  it('serves GET /api/audit with the token, paging and filters', async () => {
    const app = Fastify({ logger: false });
    app.setErrorHandler(handleError);
    await app.register(auditRoutes({ audit, requireToken }));
    try {
      expect((await app.inject({ url: '/api/audit' })).statusCode).toBe(401);
      const auth = { authorization: `Bearer ${TOKEN}` };
      const first = await app.inject({ url: '/api/audit?limit=2&kind=policy-version', headers: auth });
      expect(first.statusCode).toBe(200);
      const body = first.json();
      expect(body.entries).toHaveLength(2);
      const next = await app.inject({
        url: `/api/audit?limit=2&kind=policy-version&cursor=${body.nextCursor}`,
        headers: auth,
      });
      expect(next.json().entries.map((e: { details: { commit: string } }) => e.details.commit)).toEqual([
        'd'.repeat(40),
      ]);
      expect((await app.inject({ url: '/api/audit?limit=0', headers: auth })).statusCode).toBe(400);
      expect((await app.inject({ url: '/api/audit?since=yesterday', headers: auth })).statusCode).toBe(400);
    } finally {
      await app.close();
    }
  });

  it('reads --since as a time or a duration', () => {
    const now = new Date('2026-02-10T00:00:00Z');
    expect(sinceTime('7d', now)).toBe('2026-02-03T00:00:00.000Z');
    expect(sinceTime('2026-01-01', now)).toBe('2026-01-01T00:00:00.000Z');
    expect(sinceTime('soon', now)).toBeUndefined();
  });
});
