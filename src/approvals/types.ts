/**
 * Input types for approvals. The platform policy (src/policy) is mapped onto these by the caller,
 * so this module never reads the policy file or the app repo itself.
 */

/** Who may approve one environment, and how. */
export interface ApprovalRule {
  approvers: {
    /** Slack user ids (`U…`/`W…`). */
    users: string[];
    /** Slack user-group ids (`S…`); membership is read with `usergroups.users.list`. */
    userGroups: string[];
  };
  /** Distinct approvals needed. */
  required: number;
  /** May the person who released approve their own release? */
  releaserMayApprove: boolean;
  /** An open request expires this long after it is posted. */
  expiresAfterHours: number;
  /** Channel id the approval request is posted to. */
  channel: string;
}

/** A freeze window as the policy evaluates it at the time of a click. */
export interface FreezeState {
  frozen: boolean;
  /** End of the freeze, when the policy knows it. */
  until?: Date;
  reason?: string;
}

export type ApprovalDecision = 'approve' | 'reject';

/** What a button binds to. Encoded into the button's `value` (see button-value.ts). */
export interface ApprovalButtonValue {
  runId: string;
  env: string;
  nonce: string;
  decision: ApprovalDecision;
}

export type ApprovalStatus = 'open' | 'approved' | 'rejected' | 'expired' | 'superseded';

export interface ApprovalVote {
  userId: string;
  /** Slack username as sent in the click payload, for the audit trail and commit trailer. */
  userName?: string;
  decision: ApprovalDecision;
  at: Date;
}

/** Gate results shown in the approval message. Every part is optional: show what ran. */
export interface GateSummary {
  tests?: { status: 'passed' | 'failed' | 'skipped'; passed?: number; failed?: number; skipped?: number };
  /** Trivy findings by severity. */
  trivy?: { critical: number; high: number; medium: number; low: number; unknown?: number };
  /** ZAP alerts by risk. */
  zap?: { high: number; medium: number; low: number; informational: number };
}

/** Everything the approval message shows besides the buttons. Stored with the request so updates can re-render it. */
export interface ApprovalMessageContent {
  runId: string;
  app: string;
  version: string;
  fromEnv: string;
  toEnv: string;
  /** GitHub login of the person who pushed the tag. */
  releaserLogin?: string;
  gates: GateSummary;
  links: {
    checks?: string;
    envRepoDiff?: string;
    argocdApp?: string;
    run?: string;
  };
}

/** An approval request as stored. */
export interface ApprovalRequest {
  runId: string;
  env: string;
  app: string;
  nonce: string;
  /** Unset when the releaser's GitHub login could not be mapped to a Slack user. */
  releaserSlackId?: string;
  rule: ApprovalRule;
  status: ApprovalStatus;
  createdAt: Date;
  expiresAt: Date;
  channel: string;
  /** Set once the message is posted. */
  messageTs?: string;
  content?: ApprovalMessageContent;
  /** When the request left `open`, and because of whom (approver, rejecter, or the superseding run id). */
  decidedAt?: Date;
  decidedBy?: string;
  /** Bumped on every change; `renderedVersion` is the last one shown in Slack. */
  version: number;
  renderedVersion: number;
  votes: ApprovalVote[];
}

/**
 * One verified click on an approval button, as the interactions route hands it on (plain JSON, safe
 * to store as job data: no tokens, no response_url).
 */
export interface ApprovalClick extends ApprovalButtonValue {
  /** From the signed payload's `user.id`. */
  userId: string;
  userName?: string;
  teamId?: string;
  channelId?: string;
  messageTs?: string;
  threadTs?: string;
  actionTs?: string;
  /** `X-Slack-Retry-Num` (0 for a first delivery). */
  retryNum: number;
  retryReason?: string;
  /** When Shipgate received it (ISO 8601). */
  receivedAt: string;
}
