import type { ApprovalRule, FreezeState, GateSummary } from '../../approvals/types.js';
import { activeFreeze, approvalRequirement, type Policy } from '../../policy/index.js';
import type { GatesField } from '../progress/record-gate-result.js';

/** The policy's approval requirement for `env` as the approvals module's rule; undefined when none is needed. */
export function approvalRuleOf(policy: Policy, env: string): ApprovalRule | undefined {
  const requirement = approvalRequirement(policy, env);
  if (!requirement.required) return undefined;
  return {
    approvers: {
      users: [...requirement.approvers.users],
      userGroups: [...requirement.approvers.userGroups],
    },
    required: requirement.count,
    releaserMayApprove: requirement.releaserMayApprove,
    expiresAfterHours: requirement.expiresAfterHours,
    channel: requirement.channel,
  };
}

/** The run's gate results (keyed by check) as the approval message's summary; shows what ran. */
export function gateSummaryOf(gates: GatesField | Record<string, unknown>): GateSummary {
  const g = gates as GatesField;
  const summary: GateSummary = {};
  if (g.tests) {
    const c = g.tests.counts ?? {};
    const status =
      g.tests.conclusion === 'success' ? 'passed' : g.tests.conclusion === 'failure' ? 'failed' : 'skipped';
    const failed = (c.failures ?? 0) + (c.errors ?? 0);
    summary.tests = {
      status,
      ...(c.tests !== undefined ? { passed: Math.max(0, c.tests - failed - (c.skipped ?? 0)) } : {}),
      ...(c.tests !== undefined ? { failed } : {}),
      ...(c.skipped !== undefined ? { skipped: c.skipped } : {}),
    };
  }
  const trivy = g.trivy?.counts;
  if (trivy) {
    summary.trivy = {
      critical: trivy.CRITICAL ?? 0,
      high: trivy.HIGH ?? 0,
      medium: trivy.MEDIUM ?? 0,
      low: trivy.LOW ?? 0,
      ...(trivy.UNKNOWN !== undefined ? { unknown: trivy.UNKNOWN } : {}),
    };
  }
  const zap = g.zap?.counts;
  if (zap) {
    summary.zap = {
      high: zap.high ?? 0,
      medium: zap.medium ?? 0,
      low: zap.low ?? 0,
      informational: zap.informational ?? 0,
    };
  }
  return summary;
}

/** The freeze state the approvals module wants, from the policy's freeze windows. */
export function freezeStateOf(policy: Policy, env: string, now: Date): FreezeState {
  const freeze = activeFreeze(policy, env, now);
  return freeze.frozen ? { frozen: true, until: freeze.until, reason: freeze.reason } : { frozen: false };
}
