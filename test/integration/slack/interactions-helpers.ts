import { readFileSync } from 'node:fs';
import { computeSlackSignature } from '../../../src/slack/verify-slack-request.js';

const FIXTURES = new URL('../../fixtures/slack/', import.meta.url);

/** The recorded `block_actions` payload, with its button swapped for a Shipgate one. */
export function blockActionsPayload(
  action: { action_id: string; value?: string },
  userId?: string,
): Record<string, unknown> {
  const payload = JSON.parse(
    readFileSync(new URL('block_actions-button-with-value.json', FIXTURES), 'utf8'),
  ) as {
    user: { id: string };
    actions: Record<string, unknown>[];
  } & Record<string, unknown>;
  payload.actions = [{ ...payload.actions[0], ...action }];
  if (userId) payload.user = { ...payload.user, id: userId };
  return payload;
}

export function formBody(payload: unknown): string {
  return `payload=${encodeURIComponent(typeof payload === 'string' ? payload : JSON.stringify(payload))}`;
}

export function signedHeaders(secret: string, body: string, timestamp: number): Record<string, string> {
  const ts = String(timestamp);
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': ts,
    'x-slack-signature': computeSlackSignature(secret, ts, body),
  };
}

let actionSeq = 0;

/**
 * Clicks a button of a posted message the way Slack does: a signed `block_actions` POST to
 * `/slack/interactions` from `userId`. Returns the HTTP status and the click's `action_ts`
 * (pass the same `actionTs` with `retryNum` to replay it as Slack's own retry).
 */
export async function clickButton(
  target: { baseUrl: string; signingSecret: string },
  message: { channel: string; ts: string },
  button: { actionId: string; value: string },
  userId: string,
  options: { actionTs?: string; retryNum?: number } = {},
): Promise<{ status: number; actionTs: string }> {
  actionSeq += 1;
  const actionTs =
    options.actionTs ?? `${Math.floor(Date.now() / 1000)}.${String(actionSeq).padStart(6, '0')}`;
  const payload = blockActionsPayload({ action_id: button.actionId, value: button.value }, userId);
  (payload.actions as Record<string, unknown>[])[0]!.action_ts = actionTs;
  payload.user = {
    ...(payload.user as object),
    id: userId,
    username: userId.toLowerCase(),
    name: userId.toLowerCase(),
  };
  payload.channel = { id: message.channel, name: 'approvals' };
  payload.container = {
    type: 'message',
    message_ts: message.ts,
    channel_id: message.channel,
    is_ephemeral: false,
  };
  const body = formBody(payload);
  const headers = signedHeaders(target.signingSecret, body, Math.floor(Date.now() / 1000));
  if (options.retryNum) {
    headers['x-slack-retry-num'] = String(options.retryNum);
    headers['x-slack-retry-reason'] = 'http_timeout';
  }
  const res = await fetch(`${target.baseUrl}/slack/interactions`, { method: 'POST', headers, body });
  await res.arrayBuffer();
  return { status: res.status, actionTs };
}
