import { readFileSync } from 'node:fs';
import { computeSlackSignature } from '../../../src/slack/verify-slack-request.js';

const FIXTURES = new URL('../../../../shared/fixtures/slack/', import.meta.url);

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
