import { slackDate } from '../slack/approval-message.js';
import { clockOf, type ApprovalDeps } from './approval-deps.js';
import type { RecordClickResult } from './approval-store.js';
import { authorizeApproval, type ApprovalDenialCode } from './authorize-approval.js';
import { syncApprovalMessage } from './sync-approval-message.js';
import type {
  ApprovalClick,
  ApprovalDecision,
  ApprovalRequest,
  ApprovalStatus,
  FreezeState,
} from './types.js';

export interface ApprovalClickContext {
  /** The freeze state of an environment now, from the platform policy. */
  getFreeze: (env: string) => FreezeState | Promise<FreezeState>;
}

export type ApprovalClickResult =
  | (RecordClickResult & {
      /** The request after the click (absent for `unknown`). */
      request?: ApprovalRequest;
      /** False when Slack's message could not be updated (it is retried on the next change). */
      messageSynced: boolean;
    })
  | {
      outcome: 'refused';
      code: ApprovalDenialCode;
      reason: string;
      status: ApprovalStatus;
      decided: false;
      request: ApprovalRequest;
    };

/**
 * Handles one verified click: authorize it under the rule stored with the request, record it (one
 * Lua script decides), update the message, and tell a refused clicker why in an ephemeral note.
 *
 * Exactly one call per request returns `decided: true` (with `approved`, `rejected` or `expired`).
 * A caller that acts on the decision (promote, stop) should act on `status` with an idempotent job
 * id (`promote:{runId}:{env}`), so a retried job whose first attempt crashed after recording still
 * acts: the retry sees `duplicate` or `closed` with the same final `status`.
 *
 * Throws only when Redis or an authorization lookup (`usergroups.users.list`) fails; then nothing
 * was recorded and the job can be retried.
 */
export async function handleApprovalClick(
  deps: ApprovalDeps,
  click: ApprovalClick,
  context: ApprovalClickContext,
): Promise<ApprovalClickResult> {
  return decide(deps, click, context, 'slack');
}

export interface ApiApprovalDecision {
  runId: string;
  env: string;
  /** The approver's Slack user id: the API and CLI fallback is held to the same approver list. */
  userId: string;
  userName?: string;
  decision: ApprovalDecision;
}

/**
 * The fallback when Slack is down (`shipgate approve <run> <env>`, the authenticated API): the same
 * rule, releaser check, freeze and single transition as a click, minus the button nonce (the caller
 * authenticated the request) and minus ephemeral notes (the caller reports `reason` itself).
 */
export async function recordApiDecision(
  deps: ApprovalDeps,
  decision: ApiApprovalDecision,
  context: ApprovalClickContext,
): Promise<ApprovalClickResult> {
  return decide(
    deps,
    { ...decision, nonce: '', retryNum: 0, receivedAt: clockOf(deps).toISOString() },
    context,
    'api',
  );
}

async function decide(
  deps: ApprovalDeps,
  click: ApprovalClick,
  context: ApprovalClickContext,
  via: 'slack' | 'api',
): Promise<ApprovalClickResult> {
  const now = clockOf(deps);
  const log = deps.logger.child({ runId: click.runId, env: click.env, userId: click.userId });
  const request = await deps.store.getRequest(click.runId, click.env);

  if (request === undefined || (via === 'slack' && request.nonce !== click.nonce)) {
    log.warn({ retryNum: click.retryNum }, 'click for an unknown or superseded approval request');
    await notify(deps, click, 'This approval request is unknown or no longer valid. Nothing was changed.');
    return { outcome: 'unknown', status: undefined, decided: false, approvers: [], messageSynced: true };
  }

  // Clicks on a decided or timed-out request need no authorization: they change nothing.
  if (request.status === 'open' && now < request.expiresAt) {
    const needsGroups = !request.rule.approvers.users.includes(click.userId);
    const auth = authorizeApproval({
      userId: click.userId,
      decision: click.decision,
      rule: request.rule,
      // Without Slack no user group can be resolved: only the users the rule lists count.
      groupMembers:
        needsGroups && deps.directory !== undefined
          ? await deps.directory.groupMembers(request.rule.approvers.userGroups)
          : new Map(),
      releaserSlackId: request.releaserSlackId,
      freeze: await context.getFreeze(click.env),
      now,
    });
    if (!auth.allowed) {
      log.info({ code: auth.code }, 'approval click refused');
      await notify(deps, click, `${auth.reason} Nothing was changed.`);
      return {
        outcome: 'refused',
        code: auth.code,
        reason: auth.reason,
        status: request.status,
        decided: false,
        request,
      };
    }
  }

  const recorded = await deps.store.recordClick({
    runId: click.runId,
    env: click.env,
    userId: click.userId,
    ...(click.userName !== undefined ? { userName: click.userName } : {}),
    decision: click.decision,
    now,
    ...(via === 'slack' ? { via, nonce: click.nonce } : { via }),
  });
  log.info(
    {
      outcome: recorded.outcome,
      status: recorded.status,
      decided: recorded.decided,
      retryNum: click.retryNum,
    },
    'approval click recorded',
  );

  const messageSynced = await syncApprovalMessage(deps, click.runId, click.env);
  const after = await deps.store.getRequest(click.runId, click.env);
  if (recorded.outcome === 'closed' || (recorded.outcome === 'expired' && !recorded.decided)) {
    await notify(deps, click, closedNote(after ?? request));
  } else if (recorded.outcome === 'expired') {
    await notify(
      deps,
      click,
      `This approval request expired ${slackDate(request.expiresAt)}. Nothing was changed.`,
    );
  }
  return { ...recorded, ...(after ? { request: after } : {}), messageSynced };
}

function closedNote(request: ApprovalRequest): string {
  switch (request.status) {
    case 'approved':
      return 'This release was already approved. Your click changed nothing.';
    case 'rejected':
      return 'This release was already rejected. Your click changed nothing.';
    case 'expired':
      return `This approval request expired ${slackDate(request.expiresAt)}. Nothing was changed.`;
    case 'superseded':
      return 'A newer release replaced this approval request. Nothing was changed.';
    default:
      return 'This approval request is closed. Nothing was changed.';
  }
}

/** An ephemeral note to the clicker, at most one per user and request per minute; never throws. */
async function notify(deps: ApprovalDeps, click: ApprovalClick, text: string): Promise<void> {
  if (click.channelId === undefined || deps.slack === undefined) return;
  try {
    if (!(await deps.store.claimNotice(click.runId, click.env, click.userId))) return;
    await deps.slack.postEphemeral(click.channelId, click.userId, {
      text,
      ...(click.threadTs !== undefined ? { thread_ts: click.threadTs } : {}),
    });
  } catch (err) {
    deps.logger.warn(
      { runId: click.runId, env: click.env, code: (err as { code?: string }).code },
      'could not send the ephemeral note',
    );
  }
}
