import type { ApprovalDecision, ApprovalRule, FreezeState } from './types.js';

export type ApprovalDenialCode =
  'not-an-approver' | 'releaser-may-not-approve' | 'releaser-unknown' | 'frozen';

export type ApprovalAuthorization =
  { allowed: true } | { allowed: false; code: ApprovalDenialCode; reason: string };

export interface ApprovalAttempt {
  /** The clicker's Slack user id, from a verified request. */
  userId: string;
  decision: ApprovalDecision;
  rule: ApprovalRule;
  /** Members of each user group in `rule.approvers.userGroups` (missing groups count as empty). */
  groupMembers: ReadonlyMap<string, ReadonlySet<string>>;
  /** The releaser's Slack id; unset when their GitHub login could not be mapped. */
  releaserSlackId: string | undefined;
  freeze: FreezeState;
  now: Date;
}

/**
 * Decides whether one click counts. Pure: every fact (group membership, freeze, clock) is an
 * input, so it is tested without Slack or Redis.
 *
 * A reject is a safety action: it is allowed to any allowed approver, the releaser included, and
 * during a freeze. An approval must pass every check.
 */
export function authorizeApproval(attempt: ApprovalAttempt): ApprovalAuthorization {
  const { userId, decision, rule, releaserSlackId, freeze, now } = attempt;

  const viaGroup = rule.approvers.userGroups.find((group) => attempt.groupMembers.get(group)?.has(userId));
  if (!rule.approvers.users.includes(userId) && viaGroup === undefined) {
    return {
      allowed: false,
      code: 'not-an-approver',
      reason: `You are not an approver for this environment${describeApprovers(rule)}.`,
    };
  }
  if (decision === 'reject') return { allowed: true };

  if (!rule.releaserMayApprove) {
    if (releaserSlackId === undefined) {
      // Fail closed: without knowing who released, any approval might be the releaser's own.
      return {
        allowed: false,
        code: 'releaser-unknown',
        reason:
          "Shipgate could not map the releaser's GitHub login to a Slack user, so it cannot tell whether " +
          'you released this yourself. Add the login to the policy mapping, or make sure their Slack email ' +
          'matches their GitHub email.',
      };
    }
    if (releaserSlackId === userId) {
      return {
        allowed: false,
        code: 'releaser-may-not-approve',
        reason:
          'You released this version, and the policy does not let a releaser approve their own release.',
      };
    }
  }

  if (isFrozen(freeze, now)) {
    const until =
      freeze.until === undefined ? 'until the freeze is lifted' : `until ${freeze.until.toISOString()}`;
    const why = freeze.reason === undefined ? '' : ` (${freeze.reason})`;
    return {
      allowed: false,
      code: 'frozen',
      reason: `Deployments to this environment are frozen ${until}${why}. Approve again after that.`,
    };
  }
  return { allowed: true };
}

function isFrozen(freeze: FreezeState, now: Date): boolean {
  if (!freeze.frozen) return false;
  return freeze.until === undefined || now.getTime() < freeze.until.getTime();
}

function describeApprovers(rule: ApprovalRule): string {
  const names = [
    ...rule.approvers.users.map((id) => `<@${id}>`),
    ...rule.approvers.userGroups.map((id) => `<!subteam^${id}>`),
  ];
  if (names.length === 0) return ' (the policy names no approvers)';
  return names.length <= 5 ? ` (approvers: ${names.join(', ')})` : '';
}
