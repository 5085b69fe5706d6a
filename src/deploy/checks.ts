/**
 * Rollout **checks**: what a deploy verifies once its commit is in the env repo (the sync, the
 * AnalysisRuns, ZAP against the preview or canary, the deadline, the Application's health).
 * Not to be confused with the scan/test **gates** of `src/gates` (tests, Trivy, ZAP reports),
 * which decide whether a release may start at all.
 *
 * The `gate` field names in DeployResult and run events are kept as they were: they are part
 * of the run record that the API, Slack and the console read.
 */
export const CHECKS = [
  'sync',
  'pre-promotion-analysis',
  'zap',
  'progress-deadline',
  'post-promotion-analysis',
  'analysis',
  'rollout-aborted',
  'rollout-degraded',
  /** Rolling: the Deployment controller reports a ReplicaFailure (pods cannot be created). */
  'deployment-degraded',
  /** Rolling: the Deployment's new pods updated and available. */
  'deployment-progress',
  'application-health',
] as const;
export type CheckName = (typeof CHECKS)[number];

export interface CheckFailure {
  gate: CheckName;
  /** Which check, which metric or alert, in one line a person can act on. */
  reason: string;
}

export interface CheckRecord {
  gate: CheckName;
  passed: boolean;
  summary: string;
}
