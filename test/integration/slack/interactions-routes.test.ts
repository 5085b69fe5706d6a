import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeButtonValue, newApprovalNonce } from '../../../src/slack/button-value.js';
import type { ApprovalClick } from '../../../src/approvals/types.js';
import { createLogger } from '../../../src/logger.js';
import { slackInteractionsRoutes } from '../../../src/slack/interactions-routes.js';
import { createReplayGuard } from '../../../src/slack/replay-guard.js';
import { deleteKeysWithPrefix, keysWithPrefix, testRedis, uniquePrefix } from '../../support/redis.js';
import type { RedisClient } from '../../../src/redis/connection.js';
import { blockActionsPayload, formBody, signedHeaders } from './interactions-helpers.js';

const SECRET = 'test-signing-secret-0123456789abcdef';
const NOW_SECONDS = 1_760_000_000;
const nonce = newApprovalNonce();
const approveValue = encodeButtonValue({ runId: 'run-1', env: 'production', nonce, decision: 'approve' });

describe('POST /slack/interactions', () => {
  let app: FastifyInstance;
  let baseUrl: string;
  let redis: RedisClient;
  let prefix: string;
  let clicks: ApprovalClick[];
  let logLines: string[];
  let onActionImpl: (click: ApprovalClick) => Promise<void>;

  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(() => {
    redis.disconnect();
  });

  beforeEach(async () => {
    prefix = uniquePrefix('slack-route');
    clicks = [];
    logLines = [];
    onActionImpl = async (click) => {
      clicks.push(click);
    };
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    });
    app = Fastify({ logger: false });
    await app.register(
      slackInteractionsRoutes({
        signingSecret: SECRET,
        onAction: (click) => onActionImpl(click),
        logger: createLogger('debug', sink),
        now: () => NOW_SECONDS * 1000,
        replayGuard: createReplayGuard(redis, prefix),
        bodyLimit: 64 * 1024,
        ackTimeoutMs: 300,
        allowedTeamIds: ['T0A8YAUUGMU', 'T1DC2JH3J'],
      }),
    );
    baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterEach(async () => {
    await app.close();
    await deleteKeysWithPrefix(prefix);
  });

  const post = (body: string, headers: Record<string, string>) =>
    fetch(`${baseUrl}/slack/interactions`, { method: 'POST', body, headers });
  const approveBody = (userId?: string) =>
    formBody(blockActionsPayload({ action_id: 'shipgate_approve', value: approveValue }, userId));

  it('acks a signed click with 200 and hands it on with who clicked, where, and retry info', async () => {
    const body = approveBody();
    const res = await post(body, {
      ...signedHeaders(SECRET, body, NOW_SECONDS - 10),
      'x-slack-retry-num': '0',
    });
    expect(res.status).toBe(200);
    expect(clicks).toEqual([
      {
        runId: 'run-1',
        env: 'production',
        nonce,
        decision: 'approve',
        userId: 'U0A8WUV28QM',
        userName: 'sd0a90bkva4s_user',
        teamId: 'T0A8YAUUGMU',
        channelId: 'C0A9D9RTBMF',
        messageTs: '1771116682.586579',
        threadTs: '1771116676.529969',
        actionTs: '1771116685.733929',
        retryNum: 0,
        receivedAt: new Date(NOW_SECONDS * 1000).toISOString(),
      },
    ]);
  });

  it('passes the published signing vector on a fixed clock (then refuses the slash-command body as not an interaction)', async () => {
    const vector = JSON.parse(
      readFileSync(new URL('../../fixtures/slack/signing-test-vector.json', import.meta.url), 'utf8'),
    ) as { signing_secret: string; headers: Record<string, string> };
    const body = readFileSync(
      new URL('../../fixtures/slack/signing-test-vector-body.txt', import.meta.url),
      'utf8',
    );
    const vectorApp = Fastify({ logger: false });
    await vectorApp.register(
      slackInteractionsRoutes({
        signingSecret: vector.signing_secret,
        onAction: async (click) => void clicks.push(click),
        logger: createLogger('silent'),
        now: () => 1531420618 * 1000,
      }),
    );
    const url = await vectorApp.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${url}/slack/interactions`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...vector.headers },
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('SHIPGATE_E_SLACK_PAYLOAD_INVALID');
      const tampered = await fetch(`${url}/slack/interactions`, {
        method: 'POST',
        body: body.replace('roadrunner', 'roadrunnex'),
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...vector.headers },
      });
      expect(tampered.status).toBe(401);
    } finally {
      await vectorApp.close();
    }
    expect(clicks).toEqual([]);
  });

  it.each([
    ['301 s old', NOW_SECONDS - 301],
    ['301 s in the future', NOW_SECONDS + 301],
  ])('refuses a correctly signed request whose timestamp is %s (401)', async (_label, ts) => {
    const body = approveBody();
    const res = await post(body, signedHeaders(SECRET, body, ts));
    expect(res.status).toBe(401);
    expect(((await res.json()) as { code: string }).code).toBe('SHIPGATE_E_SLACK_TIMESTAMP');
    expect(clicks).toEqual([]);
  });

  it('refuses a bad signature, a missing signature and a missing timestamp (401), recording nothing', async () => {
    const body = approveBody();
    const wrongSecret = await post(body, signedHeaders('another-secret', body, NOW_SECONDS));
    expect(wrongSecret.status).toBe(401);
    expect(((await wrongSecret.json()) as { code: string }).code).toBe('SHIPGATE_E_SLACK_SIGNATURE');

    const headers = signedHeaders(SECRET, body, NOW_SECONDS);
    const noSig = await post(body, { ...headers, 'x-slack-signature': '' });
    expect(noSig.status).toBe(401);
    const { ['x-slack-request-timestamp']: _ts, ...noTs } = headers;
    expect((await post(body, noTs)).status).toBe(401);
    const shortSig = await post(body, { ...headers, 'x-slack-signature': 'v0=abc' });
    expect(shortSig.status).toBe(401);
    expect(clicks).toEqual([]);
    expect(await keysWithPrefix(prefix)).toEqual([]);
  });

  it('refuses a forged user.id: the body changed after signing (401)', async () => {
    const signedFor = approveBody('U0ALICE');
    const headers = signedHeaders(SECRET, signedFor, NOW_SECONDS);
    const forged = approveBody('U0MALLORY');
    const res = await post(forged, headers);
    expect(res.status).toBe(401);
    expect(clicks).toEqual([]);
    // Nothing past the headers was logged.
    expect(logLines.join('')).not.toContain('U0MALLORY');
    expect(logLines.join('')).toContain('SHIPGATE_E_SLACK_SIGNATURE');
  });

  it('refuses a replay of a verified request (409) but acks a Slack retry of it without handing it on twice', async () => {
    const body = approveBody();
    const headers = signedHeaders(SECRET, body, NOW_SECONDS);
    expect((await post(body, headers)).status).toBe(200);
    const replay = await post(body, headers);
    expect(replay.status).toBe(409);
    expect(((await replay.json()) as { code: string }).code).toBe('SHIPGATE_E_SLACK_REPLAY');
    expect(
      (await post(body, { ...headers, 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' }))
        .status,
    ).toBe(200);
    expect(clicks).toHaveLength(1);
  });

  it('hands on a Slack retry that carries a fresh signature, with its retry number', async () => {
    const body = approveBody();
    await post(body, signedHeaders(SECRET, body, NOW_SECONDS - 5));
    await post(body, {
      ...signedHeaders(SECRET, body, NOW_SECONDS),
      'x-slack-retry-num': '2',
      'x-slack-retry-reason': 'http_timeout',
    });
    expect(clicks.map((c) => [c.retryNum, c.retryReason])).toEqual([
      [0, undefined],
      [2, 'http_timeout'],
    ]);
  });

  it.each([
    ['no payload field', 'foo=bar'],
    ['a payload that is not JSON', 'payload=%7Bnot-json'],
    ['a payload without a type', formBody({ actions: [] })],
    [
      'block_actions without a user',
      formBody({
        ...blockActionsPayload({ action_id: 'shipgate_approve', value: approveValue }),
        user: undefined,
      }),
    ],
    ['block_actions with no actions', formBody({ ...blockActionsPayload({ action_id: 'x' }), actions: [] })],
    [
      'a Shipgate button with a forged value',
      formBody(blockActionsPayload({ action_id: 'shipgate_approve', value: '{"v":1}' })),
    ],
    [
      'an approve value on the reject button',
      formBody(blockActionsPayload({ action_id: 'shipgate_reject', value: approveValue })),
    ],
  ])('answers 400 for %s, and hands nothing on', async (_label, body) => {
    const res = await post(body, signedHeaders(SECRET, body, NOW_SECONDS));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toMatch(
      /^SHIPGATE_E_(SLACK_PAYLOAD|APPROVAL_VALUE)_INVALID$/,
    );
    expect(clicks).toEqual([]);
  });

  it('acks other apps’ buttons and other interaction types without handing anything on', async () => {
    const minimal = readFileSync(
      new URL('../../fixtures/slack/block_actions-button-minimal.json', import.meta.url),
      'utf8',
    );
    const foreign = formBody(minimal);
    expect((await post(foreign, signedHeaders(SECRET, foreign, NOW_SECONDS))).status).toBe(403); // team not allowed
    const otherButton = formBody(blockActionsPayload({ action_id: 'report', value: 'bug' }));
    expect((await post(otherButton, signedHeaders(SECRET, otherButton, NOW_SECONDS))).status).toBe(200);
    const view = formBody({ type: 'view_submission', user: { id: 'U1' } });
    expect((await post(view, signedHeaders(SECRET, view, NOW_SECONDS))).status).toBe(200);
    expect(clicks).toEqual([]);
  });

  it('refuses JSON bodies (415) and bodies over the limit (413) without parsing them', async () => {
    const json = JSON.stringify(blockActionsPayload({ action_id: 'shipgate_approve', value: approveValue }));
    const res = await post(json, {
      ...signedHeaders(SECRET, json, NOW_SECONDS),
      'content-type': 'application/json',
    });
    expect(res.status).toBe(415);
    const big = `payload=${'a'.repeat(70 * 1024)}`;
    expect((await post(big, signedHeaders(SECRET, big, NOW_SECONDS))).status).toBe(413);
    expect(clicks).toEqual([]);
  });

  it('answers 503 when the click cannot be queued, or not fast enough, and accepts Slack’s retry after', async () => {
    onActionImpl = async () => {
      throw new Error('redis down');
    };
    const body = approveBody();
    const headers = signedHeaders(SECRET, body, NOW_SECONDS);
    const failed = await post(body, headers);
    expect(failed.status).toBe(503);
    expect(((await failed.json()) as { code: string }).code).toBe('SHIPGATE_E_SLACK_ENQUEUE');

    onActionImpl = () => new Promise(() => {});
    const started = Date.now();
    const slow = approveBody('U0SLOW');
    expect((await post(slow, signedHeaders(SECRET, slow, NOW_SECONDS))).status).toBe(503);
    expect(Date.now() - started).toBeLessThan(2000);

    onActionImpl = async (click) => void clicks.push(click);
    // The failed request was forgotten by the replay guard, so Slack's identical retry goes through.
    expect((await post(body, { ...headers, 'x-slack-retry-num': '1' })).status).toBe(200);
    expect(clicks).toHaveLength(1);
  });
});
