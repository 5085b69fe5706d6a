import type { RollbackPlan } from '../../deploy/plan-manual-rollback.js';
import type { EnvironmentTarget } from '../../gitops/types.js';

/**
 * A rollback run's record, written by the trigger that starts it (`triggers/start-rollback-run.ts`)
 * and read by its deploy stage: a leaf of its own, so stages never import triggers.
 */
/** Where a rollback run keeps what it was asked and what it planned. */
export const ROLLBACK_PLAN_STEP = 'rollback-plan';

/** What a rollback run records at the start (step `rollback-plan`). */
export interface RollbackRecord {
  app: string;
  env: string;
  target: EnvironmentTarget;
  /** The env-repo commit that was live for the path when the rollback was planned. */
  live: string;
  plan: RollbackPlan;
  to?: string;
  requestedBy: string;
  requestId?: string;
  actor?: string;
  reason?: string;
  breakGlass?: { reason: string; freeze: string };
}
