/**
 * The shapes the console reads from the public API (same origin). They mirror the server's
 * types (src/runs/run-types.ts, src/api/*) without importing them: the console is a client of
 * the API like any other, and fields it does not know are ignored. Optional fields are ones
 * older servers may not send yet; the pages fall back to what they can derive.
 */

export interface Roles {
  viewer: boolean;
  approverOf: string[];
  operatorOf: string[];
  admin: boolean;
}

export interface Me {
  login: string;
  name?: string | null;
  avatarUrl?: string | null;
  via?: string;
  roles: Roles;
  csrfToken: string;
  /** Web address of the GitHub the App is on (github.com or a GHES host), for links. */
  githubUrl?: string;
}

export const RUN_KINDS = ['pr', 'release', 'rollback'] as const;
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

export interface RunSummary {
  id: string;
  kind: string;
  repo: string;
  sha: string;
  ref: string;
  tag?: string;
  prNumber?: number;
  app?: string;
  releaser: string;
  state: RunState | string;
  currentEnv?: string;
  createdAt: string;
  updatedAt: string;
  version?: number;
  reason?: string;
}

export interface GateSummary {
  conclusion: string;
  title?: string;
  counts?: Record<string, number>;
  at?: string;
  /** The check run on GitHub, when the server knows it. */
  url?: string;
  htmlUrl?: string;
  /** The last lines of the gate's log, when the server keeps them (GET /api/runs/:id only). */
  logTail?: string;
  /** Whether earlier output was left out of `logTail`. */
  logTruncated?: boolean;
}

export interface RunApproval {
  env: string;
  slackUserId?: string;
  login?: string;
  by?: string;
  at: string;
  decision: 'approve' | 'reject' | string;
  comment?: string;
  via?: string;
}

export interface TimelineStage {
  /** `trigger`, `gate:<name>`, `approval:<env>`, `commit:<env>`, `deploy:<env>`, `rollback`. */
  name: string;
  kind?: string;
  startedAt?: string;
  endedAt?: string;
  outcome?: string;
  detail?: string | Record<string, unknown>;
  env?: string;
  /** Log entries of the stage (deploy steps), oldest first. */
  steps?: { at: string; type: string; message: string }[];
}

export interface RunEvent {
  seq: number;
  at: string;
  type: string;
  message: string;
  data?: Record<string, unknown>;
  transition?: { from: string; to: string; env?: string };
}

export interface EnvCommit {
  env: string;
  sha: string;
  message?: string;
  trailers?: Record<string, string | string[]>;
}

export interface Run extends RunSummary {
  gates?: Record<string, GateSummary>;
  approvals?: RunApproval[];
  timeline?: TimelineStage[];
  commits?: EnvCommit[];
}

export interface RunDetail {
  run: Run;
  events?: RunEvent[];
  timeline?: TimelineStage[];
}

export interface RunPage {
  runs: RunSummary[];
  nextCursor: string | null;
}

export interface PreviousVersion {
  version: string;
  commit: string;
  at: string;
}

export interface EnvCell {
  app: string;
  env: string;
  version?: string | null;
  commit?: string | null;
  liveSince?: string | null;
  by?: string | null;
  health?: string | null;
  previous?: PreviousVersion[];
}

export interface Environments {
  apps: string[];
  environments: string[];
  cells: EnvCell[];
}

export interface PendingApproval {
  runId: string;
  app?: string;
  env: string;
  version?: string;
  releaser: string;
  required: number;
  approvals: number | RunApproval[];
  expiresAt?: string;
  canDecide: boolean;
  whyNot?: string | null;
}

export interface RollbackPreview {
  diff: string;
  from?: string | { version?: string; commit?: string };
  to?: string | { version?: string; commit?: string };
}

export interface RollbackStarted {
  runId?: string;
  requestId?: string;
  status?: string;
  state?: string;
  error?: { code: string; message: string };
}

export interface AuditEntry {
  id: string;
  kind: string;
  actor: string;
  via: string;
  at: string;
  runId?: string;
  app?: string;
  env?: string;
  outcome: string;
  reason: string;
  breakGlass?: boolean;
  details?: Record<string, unknown>;
}

export interface AuditPage {
  entries: AuditEntry[];
  nextCursor: string | null;
}

export const AUDIT_KINDS = ['approval', 'rejection', 'rollback', 'policy-version', 'gate-override'] as const;
