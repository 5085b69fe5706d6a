import { ApprovalRequestClosed } from '../errors.js';
import { approvalStateOf, renderApprovalMessage } from '../slack/approval-message.js';
import type { ReleaserIdentity } from '../slack/user-directory.js';
import { clockOf, type ApprovalDeps } from './approval-deps.js';
import { syncApprovalMessage } from './sync-approval-message.js';
import type { ApprovalMessageContent, ApprovalRequest, ApprovalRule } from './types.js';

export interface RequestApprovalInput {
  runId: string;
  app: string;
  /** Everything the message shows; `content.toEnv` is the environment that needs approval. */
  content: ApprovalMessageContent;
  rule: ApprovalRule;
  releaser: ReleaserIdentity;
  /** The policy's GitHub login → Slack user id mapping. */
  slackUserMapping?: Readonly<Record<string, string>>;
}

export interface RequestApprovalResult {
  request: ApprovalRequest;
  /** Where the message was posted; absent without Slack (the request is stored, not posted). */
  channel?: string;
  ts?: string;
  /** False when a retried job found the request (and maybe its message) already there. */
  created: boolean;
  /** An older run's open request for the same app and environment, now superseded (its message is updated). */
  supersededRunId?: string;
}

/**
 * Opens an approval request and posts its message (without Slack: only opens it), idempotently: a retried job reuses the stored
 * request (and its nonce) and the ledger's record of the posted message, so it never posts twice.
 * Throws `SHIPGATE_E_APPROVAL_CLOSED` when the request for this run was already decided.
 */
export async function requestApproval(
  deps: ApprovalDeps,
  input: RequestApprovalInput,
): Promise<RequestApprovalResult> {
  const env = input.content.toEnv;
  const now = clockOf(deps);
  const releaserSlackId =
    deps.directory !== undefined
      ? await deps.directory.resolveReleaser(input.releaser, input.slackUserMapping)
      : mappedReleaser(input.releaser, input.slackUserMapping);
  if (releaserSlackId === undefined && !input.rule.releaserMayApprove) {
    deps.logger.warn(
      { runId: input.runId, env, githubLogin: input.releaser.githubLogin },
      'releaser has no known Slack user: approvals will be refused until the policy maps them',
    );
  }
  const opened = await deps.store.openRequest(
    {
      runId: input.runId,
      env,
      app: input.app,
      ...(releaserSlackId !== undefined ? { releaserSlackId } : {}),
      rule: input.rule,
      expiresAt: new Date(now.getTime() + input.rule.expiresAfterHours * 3600_000),
      channel: input.rule.channel,
      content: input.content,
    },
    now,
  );
  const { request } = opened;
  if (request.status !== 'open') throw ApprovalRequestClosed(input.runId, env, request.status);

  if (deps.slack === undefined || deps.ledger === undefined) {
    return {
      request,
      created: opened.created,
      ...(opened.supersededRunId !== undefined ? { supersededRunId: opened.supersededRunId } : {}),
    };
  }
  const message = renderApprovalMessage(request.content ?? input.content, approvalStateOf(request));
  const posted = await deps.ledger.postOnce(deps.slack, {
    runId: input.runId,
    messageKey: `approval:${env}`,
    channel: request.channel,
    message,
  });
  await deps.store.attachMessage(input.runId, env, posted.channel, posted.ts);
  // What was posted shows the request's current version.
  await deps.store.markRendered(input.runId, env, request.version);

  if (opened.supersededRunId !== undefined) {
    await syncApprovalMessage(deps, opened.supersededRunId, env);
  }
  return {
    request: { ...request, channel: posted.channel, messageTs: posted.ts },
    channel: posted.channel,
    ts: posted.ts,
    created: opened.created,
    ...(opened.supersededRunId !== undefined ? { supersededRunId: opened.supersededRunId } : {}),
  };
}

/** The releaser's Slack id from the policy's mapping alone (no Slack to look an e-mail up in). */
function mappedReleaser(
  identity: ReleaserIdentity,
  mapping: Readonly<Record<string, string>> = {},
): string | undefined {
  const login = identity.githubLogin?.toLowerCase();
  if (login === undefined) return undefined;
  return Object.entries(mapping).find(([k]) => k.toLowerCase() === login)?.[1];
}
