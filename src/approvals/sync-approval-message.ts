import { randomUUID } from 'node:crypto';
import { approvalStateOf, renderApprovalMessage } from '../slack/approval-message.js';
import type { ApprovalDeps } from './approval-deps.js';

/**
 * Brings the Slack message of a request up to date with its stored state (`chat.update`), unless
 * Slack already shows the latest version. One worker renders at a time per request; a worker that
 * finds the lock taken leaves the work to the holder, which re-checks the version after releasing,
 * so the last change is always rendered and a flood of clicks costs one update per actual change.
 *
 * Returns false when Slack could not be updated (logged; the next click, expiry or a retry of this
 * call renders it). Never throws for Slack errors.
 */
export async function syncApprovalMessage(deps: ApprovalDeps, runId: string, env: string): Promise<boolean> {
  // Without Slack there is no message to bring up to date.
  const slack = deps.slack;
  if (slack === undefined) return true;
  const token = randomUUID();
  for (let round = 0; round < 5; round++) {
    if (!(await deps.store.acquireRenderLock(runId, env, token))) return true;
    try {
      for (;;) {
        const request = await deps.store.getRequest(runId, env);
        if (!request || request.messageTs === undefined || request.content === undefined) return true;
        if (request.version <= request.renderedVersion) break;
        const message = renderApprovalMessage(request.content, approvalStateOf(request));
        try {
          await slack.updateMessage(request.channel, request.messageTs, message);
        } catch (err) {
          deps.logger.warn(
            { runId, env, code: (err as { code?: string }).code },
            'could not update the approval message in Slack',
          );
          return false;
        }
        await deps.store.markRendered(runId, env, request.version);
      }
    } finally {
      await deps.store.releaseRenderLock(runId, env, token);
    }
    const after = await deps.store.getRequest(runId, env);
    if (!after || after.version <= after.renderedVersion) return true;
  }
  return true;
}
