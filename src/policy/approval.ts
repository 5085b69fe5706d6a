import { PolicyEnvironmentUnknown } from '../errors.js';
import type { Policy } from './schema.js';

export type ApprovalRequirement =
  | { required: false }
  | {
      required: true;
      approvers: { users: string[]; userGroups: string[] };
      /** Distinct approvals needed. */
      count: number;
      releaserMayApprove: boolean;
      expiresAfterHours: number;
      /** Slack channel id for the request. */
      channel: string;
    };

/** What promoting into `environment` needs. Throws `PolicyEnvironmentUnknown` for an undefined environment. */
export function approvalRequirement(policy: Policy, environment: string): ApprovalRequirement {
  const env = Object.hasOwn(policy.environments, environment) ? policy.environments[environment] : undefined;
  if (!env) throw PolicyEnvironmentUnknown(environment);
  if (!env.approval) return { required: false };
  return {
    required: true,
    approvers: {
      users: [...env.approval.approvers.users],
      userGroups: [...env.approval.approvers.userGroups],
    },
    count: env.approval.required,
    releaserMayApprove: env.approval.releaserMayApprove,
    expiresAfterHours: env.approval.expiresAfterHours,
    // Validation guarantees one of the two exists when approval is set.
    channel: env.approval.channel ?? policy.notifications!.channel,
  };
}

export interface ApproverCandidate {
  slackUserId: string;
  /** User group ids the clicker belongs to (from `usergroups.users.list`, resolved by the caller). */
  memberOfUserGroups: readonly string[];
  /**
   * The releaser's Slack user id, or null when it could not be found (no policy identity and no
   * e-mail match).
   */
  releaserSlackUserId: string | null;
}

export type ApproverDecision = { allowed: true; reason: string } | { allowed: false; reason: string };

/**
 * Whether one click counts. The releaser check fails closed: when self-approval is forbidden and
 * the releaser's Slack identity is unknown, nobody can be shown not to be the releaser.
 */
export function evaluateApprover(
  requirement: ApprovalRequirement,
  candidate: ApproverCandidate,
): ApproverDecision {
  if (!requirement.required) return { allowed: false, reason: 'this environment needs no approval' };
  const byUser = requirement.approvers.users.includes(candidate.slackUserId);
  const group = requirement.approvers.userGroups.find((g) => candidate.memberOfUserGroups.includes(g));
  if (!byUser && !group) {
    return { allowed: false, reason: 'you are not an approver for this environment' };
  }
  if (!requirement.releaserMayApprove) {
    if (candidate.releaserSlackUserId === null) {
      return {
        allowed: false,
        reason:
          "the releaser's Slack account is unknown, so self-approval cannot be ruled out; map their GitHub login under identities in the policy",
      };
    }
    if (candidate.releaserSlackUserId === candidate.slackUserId) {
      return {
        allowed: false,
        reason: 'you released this version, and the policy does not let releasers approve their own release',
      };
    }
  }
  return { allowed: true, reason: byUser ? 'listed approver' : `member of approver group ${group}` };
}

/** True when `approvedBy` (Slack user ids of accepted approvals) holds enough distinct people. */
export function approvalsSatisfied(requirement: ApprovalRequirement, approvedBy: readonly string[]): boolean {
  if (!requirement.required) return true;
  return new Set(approvedBy).size >= requirement.count;
}
