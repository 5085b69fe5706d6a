import type { AuditLog } from './audit-log.js';

/**
 * The decisions Shipgate audits, one function each, each with the dedupe key that makes a
 * retry land once. Audit writes never fail the decision they describe: the decision already
 * happened, so a Redis error is logged by the caller and the job goes on.
 */

export interface VoteDecision {
  runId: string;
  env: string;
  app?: string;
  /** Slack user id of the approver (the API and CLI act as a Slack user too). */
  userId: string;
  userName?: string;
  decision: 'approve' | 'reject';
  via: 'slack' | 'api' | 'cli';
  at: Date;
  /** `approved`, `rejected`, `recorded` (counted, quorum not yet met). */
  outcome: string;
  /** The approver's comment, already bounded and masked (src/approvals/approval-comment.ts). */
  comment?: string;
}

/** One vote per approver, run and environment: a retried or double click is the same vote. */
export function recordVote(audit: AuditLog, v: VoteDecision): Promise<string | null> {
  return audit.record(
    {
      kind: v.decision === 'approve' ? 'approval' : 'rejection',
      actor: v.userId,
      via: v.via,
      at: v.at.toISOString(),
      runId: v.runId,
      env: v.env,
      ...(v.app !== undefined ? { app: v.app } : {}),
      outcome: v.outcome,
      reason: `${v.userName ?? v.userId} ${v.decision === 'approve' ? 'approved' : 'rejected'} ${v.env}`,
      ...(v.userName !== undefined || v.comment !== undefined
        ? {
            details: {
              ...(v.userName !== undefined ? { userName: v.userName } : {}),
              ...(v.comment !== undefined ? { comment: v.comment } : {}),
            },
          }
        : {}),
    },
    `vote:${v.runId}:${v.env}:${v.userId}`,
  );
}

/** A click the policy refused (not an approver, the releaser, a freeze): once per click. */
export function recordRefusedVote(
  audit: AuditLog,
  v: Omit<VoteDecision, 'outcome'> & { clickId: string; code: string; reason: string },
): Promise<string | null> {
  return audit.record(
    {
      kind: v.decision === 'approve' ? 'approval' : 'rejection',
      actor: v.userId,
      via: v.via,
      at: v.at.toISOString(),
      runId: v.runId,
      env: v.env,
      ...(v.app !== undefined ? { app: v.app } : {}),
      outcome: 'refused',
      reason: v.reason.slice(0, 2000),
      details: { code: v.code },
    },
    `refused:${v.runId}:${v.env}:${v.userId}:${v.decision}:${v.clickId}`,
  );
}

export interface RollbackDecision {
  runId: string;
  app: string;
  env: string;
  requestedBy: string;
  via: 'api' | 'cli' | 'system';
  at: Date;
  /** The commit (and tag, when known) it rolls back to. */
  targetSha: string;
  targetTag?: string;
  reason: string;
  /** True when the rollback bypassed the environment's approvals. */
  breakGlass: boolean;
}

export function recordRollback(audit: AuditLog, r: RollbackDecision): Promise<string | null> {
  return audit.record(
    {
      kind: 'rollback',
      actor: r.requestedBy,
      via: r.via,
      at: r.at.toISOString(),
      runId: r.runId,
      app: r.app,
      env: r.env,
      outcome: 'started',
      reason: r.reason.slice(0, 2000),
      breakGlass: r.breakGlass,
      details: { targetSha: r.targetSha, targetTag: r.targetTag ?? null },
    },
    `rollback:${r.runId}`,
  );
}

/** The first time a policy commit of the env repo decides anything: once per commit. */
export function recordPolicyVersion(
  audit: AuditLog,
  p: { commit: string; at: Date; runId?: string },
): Promise<string | null> {
  return audit.record(
    {
      kind: 'policy-version',
      actor: 'env-repo',
      via: 'system',
      at: p.at.toISOString(),
      ...(p.runId !== undefined ? { runId: p.runId } : {}),
      outcome: 'picked-up',
      reason: `platform policy at env-repo commit ${p.commit.slice(0, 12)} in force`,
      details: { commit: p.commit },
    },
    `policy:${p.commit}`,
  );
}

export interface GateOverride {
  /** The ignore rule's finding id (CVE-…, GHSA-…, DS002). */
  id: string;
  reason: string;
  expires?: string | undefined;
  /** Findings it let through. */
  findings: number;
}

/** A gate finding let through by an ignore rule: once per run, gate and rule. */
export async function recordGateOverrides(
  audit: AuditLog,
  o: {
    runId: string;
    app?: string;
    gate: string;
    actor: string;
    at: Date;
    overrides: readonly GateOverride[];
  },
): Promise<void> {
  for (const rule of o.overrides) {
    await audit.record(
      {
        kind: 'gate-override',
        actor: o.actor,
        via: 'system',
        at: o.at.toISOString(),
        runId: o.runId,
        ...(o.app !== undefined ? { app: o.app } : {}),
        outcome: 'ignored',
        reason: `${o.gate}: ${rule.id} ignored (${rule.reason.slice(0, 500)})${rule.expires ? ` until ${rule.expires}` : ''}`,
        details: {
          gate: o.gate,
          rule: rule.id.slice(0, 200),
          expires: rule.expires ?? null,
          findings: rule.findings,
        },
      },
      `override:${o.runId}:${o.gate}:${rule.id.slice(0, 200)}`,
    );
  }
}
