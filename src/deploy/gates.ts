/** The gates a deploy passes, in order, and the names a rollback reason points at. */
export const GATES = [
  'sync',
  'pre-promotion-analysis',
  'zap',
  'progress-deadline',
  'post-promotion-analysis',
  'analysis',
  'rollout-aborted',
  'rollout-degraded',
  'application-health',
] as const;
export type GateName = (typeof GATES)[number];

export interface GateFailure {
  gate: GateName;
  /** Which gate, which metric or alert, in one line a person can act on. */
  reason: string;
}
