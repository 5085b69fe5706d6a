import { clockOf, type ApprovalDeps } from './approval-deps.js';
import { syncApprovalMessage } from './sync-approval-message.js';
import type { ApprovalRequest } from './types.js';

export interface ExpireApprovalResult {
  /** True only for the call that expired the request (a click or an earlier job may have decided it). */
  expired: boolean;
  request: ApprovalRequest | undefined;
  messageSynced: boolean;
}

/**
 * For a job scheduled at `expiresAt` (BullMQ delayed job, id `approval-expiry:{runId}:{env}`):
 * expires the request if it is still open and due, and shows it in Slack. Safe to run twice.
 */
export async function expireApproval(
  deps: ApprovalDeps,
  runId: string,
  env: string,
): Promise<ExpireApprovalResult> {
  const expired = await deps.store.expire(runId, env, clockOf(deps));
  const messageSynced = await syncApprovalMessage(deps, runId, env);
  const request = await deps.store.getRequest(runId, env);
  if (expired) deps.logger.info({ runId, env }, 'approval request expired');
  return { expired, request, messageSynced };
}
