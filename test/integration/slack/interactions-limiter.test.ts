import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodeButtonValue, newApprovalNonce } from '../../../src/slack/button-value.js';
import type { ApprovalClick } from '../../../src/approvals/types.js';
import { createLogger } from '../../../src/logger.js';
import { slackInteractionsRoutes } from '../../../src/slack/interactions-routes.js';
import { startIngress, type Ingress } from '../ingress/ingress-harness.js';
import { blockActionsPayload, formBody, signedHeaders } from './interactions-helpers.js';

const SIGNING_SECRET = 'test-signing-secret-limiter-0123456789';
const value = encodeButtonValue({
  runId: 'run-1',
  env: 'production',
  nonce: newApprovalNonce(),
  decision: 'approve',
});

let ingress: Ingress;
const clicks: ApprovalClick[] = [];
beforeAll(async () => {
  // A tight shared API limit, to show the interactions route does not use it.
  ingress = await startIngress({
    limits: { api: { max: 20, timeWindowMs: 60_000 } },
    plugins: [
      slackInteractionsRoutes({
        signingSecret: SIGNING_SECRET,
        logger: createLogger('silent'),
        onAction: async (click) => {
          clicks.push(click);
        },
      }),
    ],
  });
});
afterAll(() => ingress.close());

it('1,000 forged requests from one address, then a correctly signed click from it is accepted', async () => {
  const post = (body: string, headers: Record<string, string>) =>
    fetch(`${ingress.baseUrl}/slack/interactions`, { method: 'POST', body, headers }).then(async (res) => {
      await res.arrayBuffer();
      return res.status;
    });
  const now = () => Math.floor(Date.now() / 1000);
  const forged = formBody(blockActionsPayload({ action_id: 'shipgate_approve', value }, 'UMALLORY'));
  const statuses: number[] = [];
  for (let i = 0; i < 1000; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: 50 }, () => post(forged, signedHeaders('not-the-secret', forged, now()))),
    );
    statuses.push(...batch);
  }
  // Counted and throttled: the first 100 failures are 401, the rest 429 without a log line each.
  expect(statuses.filter((s) => s === 401)).toHaveLength(100);
  expect(statuses.filter((s) => s === 429)).toHaveLength(900);
  expect(clicks).toHaveLength(0);

  const body = formBody(blockActionsPayload({ action_id: 'shipgate_approve', value }, 'UALICE'));
  expect(await post(body, signedHeaders(SIGNING_SECRET, body, now()))).toBe(200);
  expect(clicks.map((c) => c.userId)).toEqual(['UALICE']);
});
