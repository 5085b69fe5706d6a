import { readFileSync } from 'node:fs';
import { normalizeWebhook } from '../../src/webhooks/normalize-webhook.js';
import { FIXTURES } from './fixtures.js';

const push = JSON.parse(
  readFileSync(`${FIXTURES}/github/push-tag-created.docs-example.json`, 'utf8'),
) as Record<string, unknown>;

/** The webhook job of GitHub's documented tag push, under its own delivery id. */
export const tagPushJob = (deliveryId: string) =>
  normalizeWebhook(
    { deliveryId, event: 'push', hookId: '1', hookTargetId: '2', receivedAt: new Date() },
    push,
  );
