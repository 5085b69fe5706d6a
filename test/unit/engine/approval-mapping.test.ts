import { describe, expect, it } from 'vitest';
import { apiDecisionJobOf, approvalDecisionJobOf } from '../../../src/engine/stages/approval-stage.js';
import {
  approvalRuleOf,
  freezeStateOf,
  gateSummaryOf,
} from '../../../src/engine/decisions/approval-mapping.js';
import { releaseChannel } from '../../../src/engine/progress/notify-release.js';
import { stageJobId } from '../../../src/engine/context/stage-jobs.js';
import type { ApprovalClick } from '../../../src/approvals/types.js';
import { parsePolicy, type Policy } from '../../../src/policy/index.js';

function policy(text: string): Policy {
  const result = parsePolicy(text);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

const BASE = `version: 1
repos:
  allow: ['acme/*']
  grants:
    acme/web:
      app: web
      environments:
        staging: { path: apps/web/staging }
        production: { path: apps/web/production }
environments:
  staging:
    namespace: web-staging
  production:
    namespace: web-production
    approval:
      approvers:
        users: [U0ALICE, U0BOB]
        userGroups: [S0PLATFORM]
      required: 2
      releaserMayApprove: false
      expiresAfterHours: 8
      channel: C0PROD
    freezeWindows:
      - start: '2030-12-24 00:00'
        end: '2030-12-27 00:00'
        timeZone: Europe/Amsterdam
        reason: Christmas freeze
`;

describe('approvalRuleOf', () => {
  it('maps the platform policy onto the approvals rule', () => {
    expect(approvalRuleOf(policy(BASE), 'production')).toEqual({
      approvers: { users: ['U0ALICE', 'U0BOB'], userGroups: ['S0PLATFORM'] },
      required: 2,
      releaserMayApprove: false,
      expiresAfterHours: 8,
      channel: 'C0PROD',
    });
  });

  it('is undefined for an environment without approval, and throws for an unknown one', () => {
    expect(approvalRuleOf(policy(BASE), 'staging')).toBeUndefined();
    expect(() => approvalRuleOf(policy(BASE), 'nope')).toThrow(/nope/);
  });
});

describe('freezeStateOf', () => {
  it('reports the policy freeze with its end and reason', () => {
    const p = policy(BASE);
    const inside = freezeStateOf(p, 'production', new Date('2030-12-25T12:00:00Z'));
    expect(inside).toMatchObject({ frozen: true, reason: 'Christmas freeze' });
    expect((inside as { until: Date }).until.toISOString()).toBe('2030-12-26T23:00:00.000Z');
    expect(freezeStateOf(p, 'production', new Date('2030-12-28T12:00:00Z'))).toEqual({ frozen: false });
    expect(freezeStateOf(p, 'staging', new Date('2030-12-25T12:00:00Z'))).toEqual({ frozen: false });
  });
});

describe('gateSummaryOf', () => {
  it('turns the run gates into tests, Trivy severities and ZAP risks', () => {
    const at = '2030-01-01T00:00:00.000Z';
    expect(
      gateSummaryOf({
        tests: {
          conclusion: 'success',
          title: 'ok',
          counts: { tests: 10, failures: 0, errors: 0, skipped: 2 },
          at,
        },
        trivy: {
          conclusion: 'success',
          title: 'ok',
          counts: { CRITICAL: 0, HIGH: 1, MEDIUM: 3, LOW: 4, UNKNOWN: 0, blocking: 0 },
          at,
        },
        zap: {
          conclusion: 'success',
          title: 'ok',
          counts: { high: 0, medium: 1, low: 2, informational: 5, ignored: 1 },
          at,
        },
        manifests: { conclusion: 'success', title: 'ok', at },
      }),
    ).toEqual({
      tests: { status: 'passed', passed: 8, failed: 0, skipped: 2 },
      trivy: { critical: 0, high: 1, medium: 3, low: 4, unknown: 0 },
      zap: { high: 0, medium: 1, low: 2, informational: 5 },
    });
  });

  it('shows only what ran, and a failed test run as failed', () => {
    const at = '2030-01-01T00:00:00.000Z';
    expect(gateSummaryOf({})).toEqual({});
    expect(
      gateSummaryOf({
        tests: {
          conclusion: 'failure',
          title: 'x',
          counts: { tests: 3, failures: 1, errors: 1, skipped: 0 },
          at,
        },
      }),
    ).toEqual({ tests: { status: 'failed', passed: 1, failed: 2, skipped: 0 } });
  });
});

describe('decision jobs', () => {
  const click: ApprovalClick = {
    runId: '01JZ0000000000000000000000',
    env: 'production',
    nonce: 'abcdefghijklmnopqrstuv',
    decision: 'approve',
    userId: 'U0ALICE',
    userName: 'alice',
    channelId: 'C0PROD',
    messageTs: '1700000000.000100',
    actionTs: '1700000005.123456',
    retryNum: 0,
    receivedAt: '2030-01-01T00:00:00.000Z',
  };

  it("collapses Slack's retries of one click and keeps separate clicks apart", () => {
    const first = approvalDecisionJobOf(click)!;
    const retry = approvalDecisionJobOf({ ...click, retryNum: 1, receivedAt: '2030-01-01T00:00:02.000Z' })!;
    const second = approvalDecisionJobOf({ ...click, actionTs: '1700000009.000001' })!;
    expect(stageJobId(first)).toBe(
      '01JZ0000000000000000000000.approval.production.U0ALICE.approve.1700000005.123456',
    );
    expect(stageJobId(retry)).toBe(stageJobId(first));
    expect(stageJobId(second)).not.toBe(stageJobId(first));
    expect(first).toMatchObject({ via: 'slack', channel: 'C0PROD', userName: 'alice', nonce: click.nonce });
  });

  it('refuses ids that no job id may carry instead of enqueueing them', () => {
    expect(approvalDecisionJobOf({ ...click, runId: 'a:b' })).toBeUndefined();
    expect(approvalDecisionJobOf({ ...click, env: '../prod' })).toBeUndefined();
    expect(approvalDecisionJobOf({ ...click, userId: 'not-a-slack-id' })).toBeUndefined();
  });

  it('gives every API call its own job', () => {
    const input = {
      runId: click.runId,
      env: 'production',
      slackUserId: 'U0ALICE',
      decision: 'approve' as const,
      via: 'api' as const,
      receivedAt: new Date(),
    };
    const a = apiDecisionJobOf(input);
    const b = apiDecisionJobOf(input);
    expect(a).toMatchObject({ nonce: '', via: 'api', channel: null });
    expect(stageJobId(a)).not.toBe(stageJobId(b));
  });
});

describe('releaseChannel', () => {
  it('prefers notifications.channel, then the approval channel', () => {
    const withNotifications = policy(`${BASE}notifications:\n  channel: C0RELEASES\n`);
    expect(releaseChannel(withNotifications, 'production')).toBe('C0RELEASES');
    expect(releaseChannel(policy(BASE), 'staging')).toBe('C0PROD');
    expect(releaseChannel(policy(BASE), undefined)).toBe('C0PROD');
  });
});
