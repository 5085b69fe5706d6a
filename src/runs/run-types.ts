import { z } from 'zod';

/**
 * The run record: one pull-request check, one release moving a tag through the
 * environments, or one rollback. Everything that enters the store is parsed with these
 * schemas; everything the store hands out has been parsed back, so the rest of the core
 * can trust the types.
 */

export const RUN_KINDS = ['pr', 'release', 'rollback'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export const RUN_STATES = [
  'queued',
  'gating',
  'deploying',
  'verifying',
  'awaiting-approval',
  'succeeded',
  'failed',
  'rolled-back',
  'cancelled',
  'superseded',
] as const;
export type RunState = (typeof RUN_STATES)[number];

/** Bounds that keep one run's record small, whatever the callers put into it. */
export const RUN_LIMITS = {
  /** Serialised `gates` summary. */
  gatesBytes: 16 * 1024,
  approvals: 100,
  /** An approver's comment on one decision (see src/approvals/approval-comment.ts). */
  approvalCommentChars: 500,
  /** `reason` text. */
  reasonChars: 2000,
  eventMessageChars: 2000,
  /** Serialised `data` of one event; larger data is replaced by a marker, never stored. */
  eventDataBytes: 8 * 1024,
  eventTypeChars: 64,
  eventKeyChars: 256,
  stepKeyChars: 200,
  /** Serialised result of one step (`recordStepResult`). */
  stepResultBytes: 64 * 1024,
  idempotencyKeyChars: 512,
} as const;

// GitHub: owner up to 39 chars of [A-Za-z0-9-]; repository names [A-Za-z0-9._-] up to 100.
export const RepoFullName = z
  .string()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/, 'expected owner/name');

/**
 * App and environment names end up inside Redis keys (`…:lock:<app>:<env>`), so they are
 * restricted to a key-safe alphabet; a `:` would let `a:b`+`c` collide with `a`+`b:c`.
 */
export const ResourceName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'expected 1-100 chars of [A-Za-z0-9._-]');

const GitSha = z.string().regex(/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/, 'expected a full hex commit sha');
const GithubLogin = z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/, 'expected a login');

export const ApprovalSchema = z.object({
  env: ResourceName,
  slackUserId: z.string().regex(/^[A-Z0-9]{2,32}$/, 'expected a Slack user id'),
  at: z.iso.datetime(),
  decision: z.enum(['approve', 'reject']),
  /** What the approver wrote with the decision: untrusted, bounded, token shapes masked. */
  comment: z.string().max(RUN_LIMITS.approvalCommentChars).optional(),
});
export type Approval = z.infer<typeof ApprovalSchema>;

/** Free-form gate results (per gate: status, counts, links). Bounded by `RUN_LIMITS.gatesBytes`. */
export const GatesSummarySchema = z.record(z.string(), z.unknown());
export type GatesSummary = z.infer<typeof GatesSummarySchema>;

export interface Run {
  /** ULID: 26 chars, sorts by creation time. */
  id: string;
  kind: RunKind;
  /** `owner/name` of the app repository. */
  repo: string;
  installationId: number;
  sha: string;
  ref: string;
  tag?: string;
  prNumber?: number;
  app?: string;
  /** GitHub login of whoever pushed the tag, opened the PR or asked for the rollback. */
  releaser: string;
  state: RunState;
  /** Set for `deploying`, `verifying` and `awaiting-approval`; kept on terminal states as "where it ended". */
  currentEnv?: string;
  /** ISO 8601. */
  createdAt: string;
  updatedAt: string;
  /** Starts at 1; every successful transition or field update adds 1. */
  version: number;
  supersededBy?: string;
  reason?: string;
  gates: GatesSummary;
  approvals: Approval[];
  /** Events refused because the log reached its cap (`maxEventsPerRun`). */
  droppedEvents?: number;
}

export const CreateRunInputSchema = z
  .object({
    kind: z.enum(RUN_KINDS),
    repo: RepoFullName,
    installationId: z.int().positive(),
    sha: GitSha,
    ref: z.string().min(1).max(255),
    tag: z.string().min(1).max(255).optional(),
    prNumber: z.int().positive().optional(),
    app: ResourceName.optional(),
    releaser: GithubLogin,
    gates: GatesSummarySchema.optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    if (input.kind === 'pr' && input.prNumber === undefined) {
      ctx.addIssue({ code: 'custom', path: ['prNumber'], message: 'a pr run needs prNumber' });
    }
    if (input.kind === 'release' && input.tag === undefined) {
      ctx.addIssue({ code: 'custom', path: ['tag'], message: 'a release run needs tag' });
    }
    if (input.kind === 'rollback' && input.app === undefined) {
      ctx.addIssue({ code: 'custom', path: ['app'], message: 'a rollback run needs app' });
    }
  });
export type CreateRunInput = z.input<typeof CreateRunInputSchema>;

/** What a caller says about a transition or a logged happening. */
export const EventInputSchema = z
  .object({
    type: z.string().min(1).max(RUN_LIMITS.eventTypeChars),
    message: z.string(),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type EventInput = z.input<typeof EventInputSchema>;

/** One entry of a run's append-only event log. */
export interface RunEvent {
  /** 1-based position in the log. */
  seq: number;
  /** ISO 8601. */
  at: string;
  type: string;
  message: string;
  data?: Record<string, unknown>;
  /** Present when the event was written by a state transition. */
  transition?: { from: RunState; to: RunState; env?: string };
}

export const UpdateRunFieldsSchema = z
  .object({
    gates: GatesSummarySchema.optional(),
    approvals: z.array(ApprovalSchema).max(RUN_LIMITS.approvals).optional(),
    app: ResourceName.optional(),
    reason: z.string().max(RUN_LIMITS.reasonChars).optional(),
  })
  .strict();
export type RunFieldsPatch = z.input<typeof UpdateRunFieldsSchema>;
