import { describe, expect, it } from 'vitest';
import { PolicyEnvironmentUnknown } from '../../../src/errors.js';
import { approvalRequirement, approvalsSatisfied, evaluateApprover } from '../../../src/policy/approval.js';
import { resolveDeployTarget } from '../../../src/policy/deploy-target.js';
import { forkPullRequestPolicy, slackUserForGithubLogin } from '../../../src/policy/identities.js';
import { isReleaseTag } from '../../../src/policy/release-tag.js';
import { examplePolicy, policyFrom } from './policy-fixtures.js';

const policy = examplePolicy();

describe('resolveDeployTarget', () => {
  it('takes path, namespace, mode and rules from the policy', () => {
    expect(resolveDeployTarget(policy, 'acme/web-shop', 'production')).toEqual({
      allowed: true,
      repo: 'acme/web-shop',
      app: 'web-shop',
      environment: 'production',
      path: 'apps/web-shop/production',
      namespace: 'production',
      mode: 'pr',
      requireBlueGreen: true,
      allowClusterScoped: false,
    });
  });

  it('applies a per-repo namespace override and matches names case-insensitively', () => {
    expect(resolveDeployTarget(policy, 'ACME/Billing', 'staging')).toMatchObject({
      allowed: true,
      app: 'billing',
      namespace: 'billing-staging',
      mode: 'direct',
    });
  });

  it('refuses with a reason', () => {
    expect(resolveDeployTarget(policy, 'acme/billing', 'production')).toEqual({
      allowed: false,
      reason: 'acme/billing is not granted the environment "production" (granted: staging)',
    });
    expect(resolveDeployTarget(policy, 'acme/docs', 'staging')).toEqual({
      allowed: false,
      reason: 'acme/docs may run checks but has no deploy grant under repos.grants',
    });
    expect(resolveDeployTarget(policy, 'acme/sandbox-x', 'staging')).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('denied by "!acme/sandbox-*"'),
    });
    expect(resolveDeployTarget(policy, 'acme/web-shop', 'qa')).toMatchObject({ allowed: false });
    expect(resolveDeployTarget(policy, 'acme/web-shop', 'constructor')).toMatchObject({ allowed: false });
  });
});

describe('isReleaseTag', () => {
  it.each([
    ['v1.2.3', true],
    ['refs/tags/v1.2.3', true],
    ['v', true],
    ['V1.0.0', false],
    ['1.0.0', false],
    ['release-v1', false],
    ['', false],
    ['refs/tags/', false],
  ])('%s with the default pattern → %s', (tag, expected) => {
    expect(isReleaseTag(policy, tag)).toBe(expected);
  });

  it('supports other patterns, with "*" spanning "/"', () => {
    const custom = policyFrom('version: 1\nreleaseTagPattern: "release/*.*"\nrepos: {}\nenvironments: {}\n');
    expect(isReleaseTag(custom, 'release/1.0')).toBe(true);
    expect(isReleaseTag(custom, 'release/team/1.0')).toBe(true);
    expect(isReleaseTag(custom, 'release/10')).toBe(false); // "." is literal
  });

  it('matches a pattern full of "*" against a pushed tag in linear time', () => {
    const pattern = `${'*a'.repeat(99)}*b`;
    const hostile = policyFrom(`version: 1\nreleaseTagPattern: "${pattern}"\nrepos: {}\nenvironments: {}\n`);
    const started = process.cpuUsage();
    expect(isReleaseTag(hostile, 'a'.repeat(250))).toBe(false);
    expect(isReleaseTag(hostile, `${'a'.repeat(250)}b`)).toBe(true);
    const used = process.cpuUsage(started);
    expect((used.user + used.system) / 1000).toBeLessThan(200);
  });
});

describe('approvals', () => {
  it('describes what production needs', () => {
    expect(approvalRequirement(policy, 'production')).toEqual({
      required: true,
      approvers: { users: ['U0ALICE01', 'U0BOB0002'], userGroups: ['S0SRETEAM'] },
      count: 2,
      releaserMayApprove: false,
      expiresAfterHours: 24,
      channel: 'C0PRODAPPR',
    });
    expect(approvalRequirement(policy, 'staging')).toEqual({ required: false });
    expect(() => approvalRequirement(policy, 'qa')).toThrow(
      expect.objectContaining({ code: PolicyEnvironmentUnknown.code }),
    );
  });

  it('falls back to the notifications channel', () => {
    const p = policyFrom(`version: 1
notifications: { channel: C0GENERAL }
repos: {}
environments:
  production:
    namespace: prod
    approval: { approvers: { users: [U0A1] } }
`);
    expect(approvalRequirement(p, 'production')).toMatchObject({ channel: 'C0GENERAL', count: 1 });
  });

  const requirement = approvalRequirement(policy, 'production');

  it('accepts listed users and members of listed groups', () => {
    expect(
      evaluateApprover(requirement, {
        slackUserId: 'U0ALICE01',
        memberOfUserGroups: [],
        releaserSlackUserId: 'U0BOB0002',
      }),
    ).toEqual({ allowed: true, reason: 'listed approver' });
    expect(
      evaluateApprover(requirement, {
        slackUserId: 'U0CAROL03',
        memberOfUserGroups: ['S0OTHER', 'S0SRETEAM'],
        releaserSlackUserId: 'U0BOB0002',
      }),
    ).toEqual({ allowed: true, reason: 'member of approver group S0SRETEAM' });
  });

  it('refuses strangers, the releaser, and anyone when the releaser is unknown', () => {
    expect(
      evaluateApprover(requirement, {
        slackUserId: 'U0EVE0000',
        memberOfUserGroups: ['S0OTHER'],
        releaserSlackUserId: 'U0BOB0002',
      }),
    ).toMatchObject({ allowed: false, reason: 'you are not an approver for this environment' });
    expect(
      evaluateApprover(requirement, {
        slackUserId: 'U0BOB0002',
        memberOfUserGroups: [],
        releaserSlackUserId: 'U0BOB0002',
      }),
    ).toMatchObject({ allowed: false, reason: expect.stringContaining('you released this version') });
    expect(
      evaluateApprover(requirement, {
        slackUserId: 'U0ALICE01',
        memberOfUserGroups: [],
        releaserSlackUserId: null,
      }),
    ).toMatchObject({ allowed: false, reason: expect.stringContaining('identities') });
  });

  it('lets the releaser approve only when the policy says so', () => {
    const p = policyFrom(`version: 1
repos: {}
environments:
  production:
    namespace: prod
    approval: { approvers: { users: [U0A1] }, releaserMayApprove: true, channel: C0X1 }
`);
    const r = approvalRequirement(p, 'production');
    expect(
      evaluateApprover(r, { slackUserId: 'U0A1', memberOfUserGroups: [], releaserSlackUserId: 'U0A1' })
        .allowed,
    ).toBe(true);
    expect(
      evaluateApprover(r, { slackUserId: 'U0A1', memberOfUserGroups: [], releaserSlackUserId: null }).allowed,
    ).toBe(true);
  });

  it('counts distinct approvers', () => {
    expect(approvalsSatisfied(requirement, ['U0ALICE01', 'U0ALICE01'])).toBe(false);
    expect(approvalsSatisfied(requirement, ['U0ALICE01', 'U0CAROL03'])).toBe(true);
    expect(approvalsSatisfied({ required: false }, [])).toBe(true);
    expect(
      evaluateApprover(
        { required: false },
        { slackUserId: 'U0A1', memberOfUserGroups: [], releaserSlackUserId: null },
      ).allowed,
    ).toBe(false);
  });
});

describe('identities and forks', () => {
  it('maps GitHub logins to Slack users, case-insensitively', () => {
    expect(slackUserForGithubLogin(policy, 'Alice-GH')).toBe('U0ALICE01');
    expect(slackUserForGithubLogin(policy, 'mallory')).toBeNull();
    expect(slackUserForGithubLogin(policy, '__proto__')).toBeNull();
  });

  it('runs nothing for forks unless the policy says checks-only', () => {
    expect(forkPullRequestPolicy(policy)).toBe('none');
    expect(
      forkPullRequestPolicy(
        policyFrom('version: 1\nforkPullRequests: checks-only\nrepos: {}\nenvironments: {}\n'),
      ),
    ).toBe('checks-only');
  });
});
