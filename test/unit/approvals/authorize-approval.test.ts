import { describe, expect, it } from 'vitest';
import { authorizeApproval, type ApprovalAttempt } from '../../../src/approvals/authorize-approval.js';
import type { ApprovalRule } from '../../../src/approvals/types.js';

const rule: ApprovalRule = {
  approvers: { users: ['U0ALICE'], userGroups: ['S0PLATFORM'] },
  required: 1,
  releaserMayApprove: false,
  expiresAfterHours: 24,
  channel: 'C0PROD',
};
const now = new Date('2025-06-02T10:00:00Z');
const base: ApprovalAttempt = {
  userId: 'U0ALICE',
  decision: 'approve',
  rule,
  groupMembers: new Map([['S0PLATFORM', new Set(['U0BOB', 'U0CAROL'])]]),
  releaserSlackId: 'U0CAROL',
  freeze: { frozen: false },
  now,
};

describe('authorizeApproval', () => {
  it('allows a listed user and a member of a listed group', () => {
    expect(authorizeApproval(base)).toEqual({ allowed: true });
    expect(authorizeApproval({ ...base, userId: 'U0BOB' })).toEqual({ allowed: true });
  });

  it('refuses someone who is neither listed nor in a listed group, and says who may approve', () => {
    const result = authorizeApproval({ ...base, userId: 'U0MALLORY' });
    expect(result).toMatchObject({ allowed: false, code: 'not-an-approver' });
    expect(result.allowed === false && result.reason).toContain('<@U0ALICE>');
    expect(result.allowed === false && result.reason).toContain('<!subteam^S0PLATFORM>');
  });

  it('treats a group whose members are unknown as empty', () => {
    expect(authorizeApproval({ ...base, userId: 'U0BOB', groupMembers: new Map() })).toMatchObject({
      allowed: false,
      code: 'not-an-approver',
    });
  });

  it('refuses the releaser approving their own release unless the policy allows it', () => {
    expect(authorizeApproval({ ...base, userId: 'U0CAROL' })).toMatchObject({
      allowed: false,
      code: 'releaser-may-not-approve',
    });
    expect(
      authorizeApproval({ ...base, userId: 'U0CAROL', rule: { ...rule, releaserMayApprove: true } }),
    ).toEqual({ allowed: true });
  });

  it('lets the releaser reject their own release', () => {
    expect(authorizeApproval({ ...base, userId: 'U0CAROL', decision: 'reject' })).toEqual({ allowed: true });
  });

  it('fails closed when the releaser could not be mapped to Slack', () => {
    expect(authorizeApproval({ ...base, releaserSlackId: undefined })).toMatchObject({
      allowed: false,
      code: 'releaser-unknown',
    });
    expect(
      authorizeApproval({ ...base, releaserSlackId: undefined, rule: { ...rule, releaserMayApprove: true } }),
    ).toEqual({ allowed: true });
  });

  it('blocks approvals during a freeze and says until when and why; rejects still count', () => {
    const until = new Date('2025-06-03T08:00:00Z');
    const freeze = { frozen: true, until, reason: 'quarter-end close' };
    const result = authorizeApproval({ ...base, freeze });
    expect(result).toMatchObject({ allowed: false, code: 'frozen' });
    expect(result.allowed === false && result.reason).toContain('until 2025-06-03T08:00:00.000Z');
    expect(result.allowed === false && result.reason).toContain('quarter-end close');
    expect(authorizeApproval({ ...base, freeze, decision: 'reject' })).toEqual({ allowed: true });
  });

  it('ignores a freeze that has ended, and treats an open-ended one as ongoing', () => {
    expect(
      authorizeApproval({ ...base, freeze: { frozen: true, until: new Date('2025-06-01T00:00:00Z') } }),
    ).toEqual({
      allowed: true,
    });
    const open = authorizeApproval({ ...base, freeze: { frozen: true } });
    expect(open.allowed === false && open.reason).toContain('until the freeze is lifted');
  });

  it('checks who before the freeze: a non-approver is told they are not an approver', () => {
    expect(authorizeApproval({ ...base, userId: 'U0MALLORY', freeze: { frozen: true } })).toMatchObject({
      code: 'not-an-approver',
    });
  });
});
