import Fastify from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApprovalDeps } from '../../../src/approvals/approval-deps.js';
import { ApprovalStore } from '../../../src/approvals/approval-store.js';
import { decodeButtonValue } from '../../../src/slack/button-value.js';
import {
  handleApprovalClick,
  recordApiDecision,
  type ApprovalClickResult,
} from '../../../src/approvals/handle-approval-click.js';
import { expireApproval } from '../../../src/approvals/expire-approval.js';
import { requestApproval, type RequestApprovalInput } from '../../../src/approvals/request-approval.js';
import type { ApprovalClick, ApprovalRule, FreezeState } from '../../../src/approvals/types.js';
import { createLogger } from '../../../src/logger.js';
import { slackInteractionsRoutes } from '../../../src/slack/interactions-routes.js';
import { MessageLedger } from '../../../src/slack/message-ledger.js';
import { createReplayGuard } from '../../../src/slack/replay-guard.js';
import { createSlackClient } from '../../../src/slack/slack-client.js';
import { SlackUserDirectory } from '../../../src/slack/user-directory.js';
import { deleteKeysWithPrefix, testRedis, uniquePrefix } from '../../support/redis.js';
import type { RedisClient } from '../../../src/redis/connection.js';
import {
  startSlackStandIn,
  type SlackStandIn,
  type StandInMessage,
} from '../../../sandbox/slack-stand-in.js';
import { blockActionsPayload, formBody, signedHeaders } from '../slack/interactions-helpers.js';

const logger = createLogger('silent');
const rule: ApprovalRule = {
  approvers: { users: ['U0ALICE'], userGroups: ['S0PLATFORM'] },
  required: 1,
  releaserMayApprove: false,
  expiresAfterHours: 24,
  channel: 'C0PROD',
};
const input = (overrides: Partial<RequestApprovalInput> = {}): RequestApprovalInput => ({
  runId: 'run-1',
  app: 'payments',
  rule,
  releaser: { githubLogin: 'carol-gh', email: 'carol@example.com' },
  content: {
    runId: overrides.runId ?? 'run-1',
    app: 'payments',
    version: 'v1.4.0',
    fromEnv: 'staging',
    toEnv: 'production',
    releaserLogin: 'carol-gh',
    gates: {
      tests: { status: 'passed', passed: 10, failed: 0 },
      trivy: { critical: 0, high: 1, medium: 2, low: 3 },
    },
    links: { checks: 'https://github.com/acme/payments/commit/abc/checks' },
  },
  ...overrides,
});

describe('approval requests and clicks (real Redis, Slack stand-in, real WebClient)', () => {
  let redis: RedisClient;
  let prefix: string;
  let slack: SlackStandIn;
  let deps: ApprovalDeps;
  let clock: Date;
  let freeze: FreezeState;
  const context = { getFreeze: () => freeze };

  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(() => {
    redis.disconnect();
  });
  beforeEach(async () => {
    prefix = uniquePrefix('approval-click');
    slack = await startSlackStandIn({
      users: [{ id: 'U0CAROL', email: 'carol@example.com' }],
      userGroups: { S0PLATFORM: ['U0BOB', 'U0DAN', 'U0ERIN', 'U0CAROL'] },
    });
    const client = createSlackClient({
      token: slack.token,
      apiUrl: slack.apiUrl,
      logger,
      retryConfig: { retries: 1, minTimeout: 10, maxTimeout: 10 },
    });
    clock = new Date(Math.floor(Date.now() / 1000) * 1000);
    freeze = { frozen: false };
    deps = {
      store: new ApprovalStore(redis, prefix),
      slack: client,
      ledger: new MessageLedger(redis, prefix),
      directory: new SlackUserDirectory(client),
      logger,
      now: () => clock,
    };
  });
  afterEach(async () => {
    await slack.close();
    await deleteKeysWithPrefix(prefix);
  });

  /** The click Slack would send for a button of the posted message. */
  function clickOn(
    message: StandInMessage,
    userId: string,
    decision: 'approve' | 'reject' = 'approve',
  ): ApprovalClick {
    const actions = message.blocks?.find((b) => (b as { type: string }).type === 'actions') as {
      elements: { action_id: string; value: string }[];
    };
    const button = actions.elements.find((e) => e.action_id === `shipgate_${decision}`);
    return {
      ...decodeButtonValue(button?.value ?? ''),
      userId,
      channelId: message.channel,
      messageTs: message.ts,
      retryNum: 0,
      receivedAt: clock.toISOString(),
    };
  }
  const messageText = (m: StandInMessage | undefined) => JSON.stringify(m?.blocks);

  it('posts the request once, even when the job is retried, and resolves the releaser by email', async () => {
    const first = await requestApproval(deps, input());
    const again = await requestApproval(deps, input());
    expect(slack.callsTo('chat.postMessage')).toHaveLength(1);
    expect(again).toMatchObject({ ts: first.ts, channel: 'C0PROD', created: false });
    expect(again.request.nonce).toBe(first.request.nonce);
    expect(first.request.releaserSlackId).toBe('U0CAROL');
    const [message] = slack.messages;
    expect(message?.channel).toBe('C0PROD');
    expect(message?.metadata).toEqual({
      event_type: 'shipgate_message',
      event_payload: { run_id: 'run-1', message_key: 'approval:production' },
    });
    expect(clickOn(message as StandInMessage, 'U0BOB')).toMatchObject({ runId: 'run-1', env: 'production' });
  });

  it('prefers the policy mapping for the releaser', async () => {
    const result = await requestApproval(deps, input({ slackUserMapping: { 'Carol-GH': 'U0MAPPED' } }));
    expect(result.request.releaserSlackId).toBe('U0MAPPED');
    expect(slack.callsTo('users.lookupByEmail')).toHaveLength(0);
  });

  it('refuses the releaser with an ephemeral note and changes nothing', async () => {
    await requestApproval(deps, input());
    const result = await handleApprovalClick(
      deps,
      clickOn(slack.messages[0] as StandInMessage, 'U0CAROL'),
      context,
    );
    expect(result).toMatchObject({ outcome: 'refused', code: 'releaser-may-not-approve', decided: false });
    expect(slack.ephemerals).toEqual([
      expect.objectContaining({
        channel: 'C0PROD',
        user: 'U0CAROL',
        text: expect.stringContaining('You released'),
      }),
    ]);
    expect(slack.callsTo('chat.update')).toHaveLength(0);
    expect(await deps.store.getRequest('run-1', 'production')).toMatchObject({
      status: 'open',
      version: 1,
      votes: [],
    });
  });

  it('refuses someone who is not an approver', async () => {
    await requestApproval(deps, input());
    const result = await handleApprovalClick(
      deps,
      clickOn(slack.messages[0] as StandInMessage, 'U0MALLORY'),
      context,
    );
    expect(result).toMatchObject({ outcome: 'refused', code: 'not-an-approver' });
    expect(slack.ephemerals[0]?.text).toContain('not an approver');
  });

  it('accepts an allowed approver (via a user group) and shows who approved and when', async () => {
    await requestApproval(deps, input());
    const result = await handleApprovalClick(
      deps,
      { ...clickOn(slack.messages[0] as StandInMessage, 'U0BOB'), userName: 'bob' },
      context,
    );
    expect(result).toMatchObject({
      outcome: 'approved',
      status: 'approved',
      decided: true,
      messageSynced: true,
    });
    expect(result.outcome !== 'refused' && result.approvers).toEqual([
      { userId: 'U0BOB', userName: 'bob', decision: 'approve', at: clock },
    ]);
    expect(slack.callsTo('chat.update')).toHaveLength(1);
    const text = messageText(slack.messages[0]);
    expect(text).toContain('*Approved* by <@U0BOB>');
    expect(text).toContain(`<!date^${clock.getTime() / 1000}^`);
    expect(text).not.toContain('shipgate_approve');
    expect(slack.ephemerals).toEqual([]);
  });

  it('needs N distinct approvers and shows progress in between', async () => {
    await requestApproval(deps, input({ rule: { ...rule, required: 2 } }));
    const msg = slack.messages[0] as StandInMessage;
    expect((await handleApprovalClick(deps, clickOn(msg, 'U0BOB'), context)).outcome).toBe('recorded');
    expect(messageText(msg)).toContain('1 of 2 approvals: <@U0BOB>');
    expect((await handleApprovalClick(deps, clickOn(msg, 'U0BOB'), context)).outcome).toBe('duplicate');
    const second = await handleApprovalClick(deps, clickOn(msg, 'U0ALICE'), context);
    expect(second).toMatchObject({ outcome: 'approved', decided: true });
    expect(messageText(msg)).toMatch(/Approved\* by <@U0BOB> .*, <@U0ALICE>/);
    expect(slack.callsTo('chat.update')).toHaveLength(2);
  });

  it('stops on a reject and says who rejected', async () => {
    await requestApproval(deps, input({ rule: { ...rule, required: 2 } }));
    const msg = slack.messages[0] as StandInMessage;
    // Erin's Slack client still shows the buttons when she clicks, after the reject.
    const erinsClick = clickOn(msg, 'U0ERIN');
    await handleApprovalClick(deps, clickOn(msg, 'U0BOB'), context);
    const rejected = await handleApprovalClick(deps, clickOn(msg, 'U0DAN', 'reject'), context);
    expect(rejected).toMatchObject({ outcome: 'rejected', decided: true });
    expect(messageText(msg)).toContain('*Rejected* by <@U0DAN>');
    const late = await handleApprovalClick(deps, erinsClick, context);
    expect(late).toMatchObject({ outcome: 'closed', status: 'rejected' });
    expect(slack.ephemerals.at(-1)?.text).toContain('already rejected');
  });

  it('refuses an approval after expiry and marks the message expired', async () => {
    await requestApproval(deps, input());
    const msg = slack.messages[0] as StandInMessage;
    clock = new Date(clock.getTime() + 24 * 3600_000 + 1);
    const result = await handleApprovalClick(deps, clickOn(msg, 'U0BOB'), context);
    expect(result).toMatchObject({ outcome: 'expired', status: 'expired', decided: true, approvers: [] });
    expect(messageText(msg)).toContain('*Expired*');
    expect(slack.ephemerals.at(-1)?.text).toContain('expired');
  });

  it('expires from a scheduled job once, and shows it', async () => {
    await requestApproval(deps, input());
    expect((await expireApproval(deps, 'run-1', 'production')).expired).toBe(false);
    clock = new Date(clock.getTime() + 24 * 3600_000);
    const result = await expireApproval(deps, 'run-1', 'production');
    expect(result).toMatchObject({ expired: true, messageSynced: true, request: { status: 'expired' } });
    expect(messageText(slack.messages[0])).toContain('*Expired*');
    expect((await expireApproval(deps, 'run-1', 'production')).expired).toBe(false);
    expect(slack.callsTo('chat.update')).toHaveLength(1);
  });

  it('refuses approvals during a freeze and says until when', async () => {
    await requestApproval(deps, input());
    freeze = { frozen: true, until: new Date('2031-01-05T09:00:00Z'), reason: 'holiday freeze' };
    const result = await handleApprovalClick(
      deps,
      clickOn(slack.messages[0] as StandInMessage, 'U0BOB'),
      context,
    );
    expect(result).toMatchObject({ outcome: 'refused', code: 'frozen' });
    expect(slack.ephemerals[0]?.text).toContain('until 2031-01-05T09:00:00.000Z (holiday freeze)');
    expect((await deps.store.getRequest('run-1', 'production'))?.status).toBe('open');
  });

  it('refuses a click for an unknown run or with a stale nonce, changing nothing', async () => {
    await requestApproval(deps, input());
    const real = clickOn(slack.messages[0] as StandInMessage, 'U0BOB');
    const unknown = await handleApprovalClick(deps, { ...real, runId: 'run-404' }, context);
    expect(unknown).toMatchObject({ outcome: 'unknown', decided: false });
    const forgedNonce = await handleApprovalClick(
      deps,
      { ...real, nonce: 'AAAAAAAAAAAAAAAAAAAAAA' },
      context,
    );
    expect(forgedNonce).toMatchObject({ outcome: 'unknown' });
    expect(slack.ephemerals[0]?.text).toContain('unknown or no longer valid');
    expect(await deps.store.getRequest('run-1', 'production')).toMatchObject({ status: 'open', votes: [] });
    expect(await redis.exists(`${prefix}:{approval:run-404:production}`)).toBe(0);
  });

  it('supersedes an older run: its message says so and its buttons are refused', async () => {
    await requestApproval(deps, input());
    const oldMessage = slack.messages[0] as StandInMessage;
    const staleClick = clickOn(oldMessage, 'U0BOB');
    const newer = await requestApproval(deps, input({ runId: 'run-2' }));
    expect(newer.supersededRunId).toBe('run-1');
    expect(messageText(oldMessage)).toContain('*Superseded* by run `run-2`');
    const result = await handleApprovalClick(deps, staleClick, context);
    expect(result).toMatchObject({ outcome: 'closed', status: 'superseded', decided: false });
    expect(slack.ephemerals.at(-1)?.text).toContain('newer release replaced');
    expect((await deps.store.getRequest('run-2', 'production'))?.status).toBe('open');
  });

  it('gives one decision for double clicks and Slack retries of the same click', async () => {
    await requestApproval(deps, input());
    const click = clickOn(slack.messages[0] as StandInMessage, 'U0BOB');
    const results = await Promise.all([
      handleApprovalClick(deps, click, context),
      handleApprovalClick(deps, click, context),
      handleApprovalClick(deps, { ...click, retryNum: 1, retryReason: 'http_timeout' }, context),
      handleApprovalClick(deps, { ...click, retryNum: 2, retryReason: 'http_timeout' }, context),
    ]);
    expect(results.filter((r) => r.decided)).toHaveLength(1);
    expect(results.map((r) => r.outcome).sort()).toEqual(['approved', 'duplicate', 'duplicate', 'duplicate']);
    expect(slack.callsTo('chat.update')).toHaveLength(1);
    expect(slack.ephemerals).toEqual([]);
  });

  it('records an API/CLI decision under the same rule', async () => {
    await requestApproval(deps, input());
    const releaser = await recordApiDecision(
      deps,
      { runId: 'run-1', env: 'production', userId: 'U0CAROL', decision: 'approve' },
      context,
    );
    expect(releaser).toMatchObject({ outcome: 'refused', code: 'releaser-may-not-approve' });
    expect(slack.ephemerals).toEqual([]);
    const approved = await recordApiDecision(
      deps,
      { runId: 'run-1', env: 'production', userId: 'U0ALICE', userName: 'alice', decision: 'approve' },
      context,
    );
    expect(approved).toMatchObject({ outcome: 'approved', decided: true });
    expect(messageText(slack.messages[0])).toContain('*Approved* by <@U0ALICE>');
  });

  it('survives a flood of 1,000 signed clicks through the route: one decision, bounded Slack calls', async () => {
    await requestApproval(deps, input({ rule: { ...rule, required: 2 } }));
    const message = slack.messages[0] as StandInMessage;
    const secret = 'flood-signing-secret';
    const queue: ApprovalClick[] = [];
    const app = Fastify({ logger: false });
    await app.register(
      slackInteractionsRoutes({
        signingSecret: secret,
        logger,
        replayGuard: createReplayGuard(redis, prefix),
        onAction: async (click) => void queue.push(click),
      }),
    );
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    const users = ['U0CAROL', 'U0MALLORY', 'U0EVE', 'U0BOB', 'U0DAN', 'U0ERIN', 'U0ALICE'];
    const approveValue = clickOn(message, 'x');
    const values = {
      approve: JSON.stringify({ v: 1, r: 'run-1', e: 'production', n: approveValue.nonce, d: 'a' }),
      reject: JSON.stringify({ v: 1, r: 'run-1', e: 'production', n: approveValue.nonce, d: 'r' }),
    };
    const statuses: number[] = [];
    try {
      const nowSeconds = Math.floor(Date.now() / 1000);
      for (let batch = 0; batch < 10; batch++) {
        const sent = await Promise.all(
          Array.from({ length: 100 }, async (_, j) => {
            const i = batch * 100 + j;
            const body = formBody(
              blockActionsPayload(
                { action_id: 'shipgate_approve', value: values.approve },
                users[i % users.length],
              ),
            );
            // Every request is distinct (its own timestamp) so the replay guard lets all of them through.
            const res = await fetch(`${url}/slack/interactions`, {
              method: 'POST',
              body,
              headers: signedHeaders(secret, body, nowSeconds - (i % 250)),
            });
            return res.status;
          }),
        );
        statuses.push(...sent);
      }
    } finally {
      await app.close();
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(1000);
    expect(queue).toHaveLength(1000);

    // Work the queue with some concurrency, as several workers would.
    const results: ApprovalClickResult[] = [];
    const workers = Array.from({ length: 16 }, async () => {
      for (let click = queue.shift(); click; click = queue.shift()) {
        results.push(await handleApprovalClick(deps, { ...click, channelId: 'C0PROD' }, context));
      }
    });
    await Promise.all(workers);

    expect(results).toHaveLength(1000);
    expect(results.filter((r) => r.decided)).toHaveLength(1);
    expect(results.find((r) => r.decided)?.outcome).toBe('approved');
    const final = await deps.store.getRequest('run-1', 'production');
    expect(final?.status).toBe('approved');
    expect(final?.votes).toHaveLength(2);
    // Bounded Slack work: one group lookup (cached), one update per real change, one note per refused user.
    expect(slack.callsTo('usergroups.users.list')).toHaveLength(1);
    expect(slack.callsTo('chat.update').length).toBeLessThanOrEqual(2);
    expect(slack.ephemerals.length).toBeLessThanOrEqual(users.length);
    expect(new Set(slack.ephemerals.map((e) => e.user)).size).toBe(slack.ephemerals.length);
    expect(messageText(message)).toContain('*Approved*');
    void values.reject;
  });
});
