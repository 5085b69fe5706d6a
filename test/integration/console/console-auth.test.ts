/**
 * The console's identity and access, end to end over HTTP: a real `serve` (fastify on port 0,
 * the API plugins `serve` mounts, real Redis), the GitHub OAuth stand-in for sign-in, and the
 * platform policy as the server reads it. Nothing of Shipgate's own is replaced: the policy
 * source is the one seam `ApiContext.auth` offers (the env repo itself is covered elsewhere).
 */
import type { FastifyInstance } from 'fastify';
import type { RedisClient } from '../../../src/redis/connection.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleAuth, type ConsoleAuth } from '../../../src/auth/console-auth.js';
import { loadConfig, type Config } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { createMetrics } from '../../../src/metrics/create-metrics.js';
import { parsePolicy } from '../../../src/policy/parse-policy.js';
import type { Policy } from '../../../src/policy/schema.js';
import { closeQueues, createAllQueues, type AllQueues } from '../../../src/queue/create-queues.js';
import { createRedisConnection } from '../../../src/redis/connection.js';
import { RunStore } from '../../../src/runs/run-store.js';
import type { Run } from '../../../src/runs/run-types.js';
import { API_PLUGINS } from '../../../src/server/api-plugins.js';
import { buildServer } from '../../../src/server/build-server.js';
import { createServer, type Server } from 'node:http';
import { createOAuthStandIn, type OAuthStandIn } from '../../../sandbox/github-oauth-stand-in.js';
import { closeServer, listenOnFreePort } from '../../../sandbox/listen.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../../support/redis.js';

const ADMIN_TOKEN = 'console-admin-token-0123456789';
const PUBLIC_URL = 'http://console.shipgate.test';
const SESSION_SECRET = 'a-session-secret-of-at-least-32-characters-000';

function policyText(freeze: boolean): string {
  return `version: 1
notifications: { channel: C0RELEASES }
repos:
  allow: ['acme/*']
  grants:
    acme/web:
      app: web
      environments:
        staging: { path: apps/web/staging }
        production: { path: apps/web/production }
environments:
  staging: { namespace: web-staging }
  production:
    namespace: web-production
    approval:
      approvers: { users: [U0ALICE, U0BOB] }
      required: 1
${freeze ? `    freezeWindows:\n      - { start: '2000-01-01 00:00', end: '2099-01-01 00:00', timeZone: UTC, reason: 'year-end freeze' }\n` : ''}identities:
  alice: U0ALICE
  bob: U0BOB
access:
  viewers: ['org:acme']
  environments:
    production: { operators: ['team:acme/sre'] }
`;
}

function parse(text: string): Policy {
  const parsed = parsePolicy(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.policy;
}

let oauth: OAuthStandIn;
let oauthServer: Server;
let oauthUrl: string;
let app: FastifyInstance;
let baseUrl: string;
let producer: RedisClient;
let queues: AllQueues;
let auth: ConsoleAuth;
let runs: RunStore;
let config: Config;
let prefix: string;
let current: Policy = parse(policyText(false));

beforeAll(async () => {
  // GitHub's OAuth pages and user API on one host, as on github.com (api.) and GHES.
  oauth = createOAuthStandIn();
  for (const user of [
    { login: 'alice', name: 'Alice', orgs: ['acme'] },
    { login: 'bob', name: 'Bob', orgs: ['acme'] },
    { login: 'vera', name: 'Vera Viewer', orgs: ['acme'] },
    { login: 'olga', name: 'Olga Operator', orgs: ['acme'], teams: ['acme/sre'] },
    { login: 'mallory', orgs: ['evil'] },
  ])
    oauth.addUser(user);
  oauthServer = createServer((req, res) => {
    void oauth.handle(req, res, new URL(req.url ?? '/', 'http://stand-in')).then((handled) => {
      if (!handled) res.writeHead(404).end();
    });
  });
  oauthUrl = await listenOnFreePort(oauthServer);
  prefix = uniquePrefix('console');
  config = loadConfig(
    {
      GITHUB_WEBHOOK_SECRET: 'console-webhook-secret-0123',
      GITHUB_API_URL: oauthUrl,
      REDIS_URL: TEST_REDIS_URL,
      SHIPGATE_QUEUE_PREFIX: prefix,
      SHIPGATE_API_TOKEN: ADMIN_TOKEN,
      LOG_LEVEL: 'silent',
      SHIPGATE_PUBLIC_URL: PUBLIC_URL,
      GITHUB_OAUTH_CLIENT_ID: oauth.clientId,
      GITHUB_OAUTH_CLIENT_SECRET: oauth.clientSecret,
      SHIPGATE_SESSION_SECRET: SESSION_SECRET,
    },
    'serve',
  );
  const logger = createLogger('silent');
  const metrics = createMetrics({ processMetrics: false });
  producer = createRedisConnection(TEST_REDIS_URL, 'producer');
  await new Promise<void>((resolve) => producer.once('ready', () => resolve()));
  queues = createAllQueues(producer, prefix);
  auth = createConsoleAuth({
    config,
    redis: producer,
    logger,
    policy: { current: async () => ({ policy: current, commit: 'a'.repeat(40) }) },
  });
  app = await buildServer({
    config,
    logger,
    producer,
    queues: { webhook: queues.webhook },
    metrics,
    plugins: API_PLUGINS.map((factory) => factory({ config, logger, producer, queues, metrics, auth })),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  baseUrl = typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : '';
  runs = new RunStore(producer, { prefix: `${prefix}:runs` });
});

afterAll(async () => {
  await app?.close();
  await closeQueues(Object.values(queues ?? {}));
  producer?.disconnect();
  if (oauthServer) await closeServer(oauthServer);
  await deleteKeysWithPrefix(prefix);
});

function cookiesOf(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const eq = pair!.indexOf('=');
    out[pair!.slice(0, eq)] = pair!.slice(eq + 1);
  }
  return out;
}

interface SignedIn {
  cookie: string;
  csrf: string;
  setCookieLine: string;
}

/** The whole browser dance: /auth/login → GitHub authorize → /auth/callback → session cookie. */
async function signIn(login: string): Promise<SignedIn> {
  const start = await fetch(`${baseUrl}/auth/login`, { redirect: 'manual' });
  expect(start.status).toBe(302);
  const authorize = new URL(start.headers.get('location')!);
  expect(`${authorize.origin}${authorize.pathname}`).toBe(`${oauthUrl}/login/oauth/authorize`);
  expect(authorize.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/auth/callback`);
  const stateCookie = cookiesOf(start).shipgate_oauth_state!;
  // The person types their login on GitHub's page and confirms.
  const page = await fetch(authorize);
  expect(page.status).toBe(200);
  const confirm = new URL('/login/oauth/authorize/confirm', oauthUrl);
  for (const key of ['client_id', 'redirect_uri', 'state'])
    confirm.searchParams.set(key, authorize.searchParams.get(key)!);
  confirm.searchParams.set('login', login);
  const back = await fetch(confirm, { redirect: 'manual' });
  expect(back.status).toBe(302);
  const callback = new URL(back.headers.get('location')!);
  expect(callback.origin).toBe(PUBLIC_URL);
  const done = await fetch(`${baseUrl}${callback.pathname}${callback.search}`, {
    redirect: 'manual',
    headers: { cookie: `shipgate_oauth_state=${stateCookie}` },
  });
  expect(done.status).toBe(302);
  expect(done.headers.get('location')).toBe('/');
  const setCookieLine = done.headers.getSetCookie().find((l) => l.startsWith('shipgate_session='))!;
  const cookie = `shipgate_session=${cookiesOf(done).shipgate_session}`;
  const me = await fetch(`${baseUrl}/api/me`, { headers: { cookie } });
  expect(me.status).toBe(200);
  const body = (await me.json()) as { csrfToken: string };
  return { cookie, csrf: body.csrfToken, setCookieLine };
}

async function releaseAwaitingProduction(releaser: string): Promise<Run> {
  const { run } = await runs.createRun(
    {
      kind: 'release',
      repo: 'acme/web',
      installationId: 1,
      sha: 'b'.repeat(40),
      ref: 'refs/tags/v1.2.3',
      tag: 'v1.2.3',
      app: 'web',
      releaser,
    },
    { idempotencyKey: `release:${Math.random()}` },
  );
  await runs.transition(run.id, { from: 'queued', to: 'deploying', env: 'staging' });
  await runs.transition(run.id, { from: 'deploying', to: 'verifying', env: 'staging' });
  const moved = await runs.transition(run.id, {
    from: 'verifying',
    to: 'awaiting-approval',
    env: 'production',
  });
  return moved.run!;
}

const post = (path: string, body: unknown, headers: Record<string, string>) =>
  fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('sign-in with GitHub', () => {
  it('signs in through the OAuth web flow and answers /api/me with roles from the policy', async () => {
    const { cookie, setCookieLine } = await signIn('olga');
    expect(setCookieLine).toMatch(/HttpOnly/i);
    expect(setCookieLine).toMatch(/SameSite=Lax/i);
    expect(setCookieLine).not.toMatch(/Secure/i); // http public URL: no Secure flag
    const me = (await (await fetch(`${baseUrl}/api/me`, { headers: { cookie } })).json()) as Record<
      string,
      unknown
    >;
    expect(me).toMatchObject({
      login: 'olga',
      name: 'Olga Operator',
      via: 'session',
      roles: { viewer: true, approverOf: [], operatorOf: ['production'], admin: false },
    });
    expect(typeof me.csrfToken).toBe('string');
    expect(oauth.signIns('olga')).toBeGreaterThan(0);
  });

  it('refuses a callback whose state does not match the browser (login CSRF)', async () => {
    const res = await fetch(`${baseUrl}/auth/callback?code=abc&state=forged`, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'SHIPGATE_E_OAUTH_STATE' } });
  });

  it('a forged, tampered or expired session cookie gets 401', async () => {
    const { cookie } = await signIn('vera');
    const value = cookie.split('=')[1]!;
    const tampered = `shipgate_session=${value.slice(0, -2)}xx`;
    expect((await fetch(`${baseUrl}/api/me`, { headers: { cookie: tampered } })).status).toBe(401);
    const unsigned = `shipgate_session=${decodeURIComponent(value).split('.')[0]}`;
    expect((await fetch(`${baseUrl}/api/runs`, { headers: { cookie: unsigned } })).status).toBe(401);

    // Expiry: Redis drops the session at its TTL; the still-signed cookie then means nothing.
    const keys = await producer.keys(`${prefix}:console:session:*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) await producer.pexpire(key, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const expired = await fetch(`${baseUrl}/api/me`, { headers: { cookie } });
    expect(expired.status).toBe(401);
    expect(await expired.json()).toMatchObject({ error: { code: 'SHIPGATE_E_UNAUTHORIZED' } });
  });

  it('logout deletes the session everywhere', async () => {
    const { cookie, csrf } = await signIn('vera');
    const out = await post('/auth/logout', {}, { cookie, 'x-csrf-token': csrf });
    expect(out.status).toBe(204);
    expect((await fetch(`${baseUrl}/api/me`, { headers: { cookie } })).status).toBe(401);
  });

  it('a cross-site POST with the cookie but without the CSRF token gets 403', async () => {
    const { cookie, csrf } = await signIn('olga');
    const body = { app: 'web', env: 'production', to: 'v1.0.0', reason: 'bad deploy' };
    const noToken = await post('/api/rollbacks', body, { cookie, origin: 'https://evil.example' });
    expect(noToken.status).toBe(403);
    expect(await noToken.json()).toMatchObject({ error: { code: 'SHIPGATE_E_CSRF' } });
    // One character changed (a fixed 'A' would be no change for a token that ends in 'A').
    const forged = `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}`;
    const wrong = await post('/api/rollbacks', body, { cookie, 'x-csrf-token': forged });
    expect(wrong.status).toBe(403);
    expect((await post('/auth/logout', {}, { cookie })).status).toBe(403);
  });
});

describe('roles', () => {
  it('a stranger signs in but sees nothing', async () => {
    const { cookie } = await signIn('mallory');
    const runsRes = await fetch(`${baseUrl}/api/runs`, { headers: { cookie } });
    expect(runsRes.status).toBe(403);
    expect(await runsRes.json()).toMatchObject({ error: { code: 'SHIPGATE_E_FORBIDDEN' } });
  });

  it('a viewer reads runs but cannot approve or roll back', async () => {
    const run = await releaseAwaitingProduction('alice');
    const { cookie, csrf } = await signIn('vera');
    const list = await fetch(`${baseUrl}/api/runs?app=web&env=production&state=awaiting-approval`, {
      headers: { cookie },
    });
    expect(list.status).toBe(200);
    const page = (await list.json()) as { runs: Run[]; nextCursor: string | null };
    expect(page.runs.map((r) => r.id)).toContain(run.id);

    const approve = await post(
      `/api/runs/${run.id}/approvals`,
      { env: 'production', decision: 'approve' },
      {
        cookie,
        'x-csrf-token': csrf,
      },
    );
    expect(approve.status).toBe(403);
    const rollback = await post(
      '/api/rollbacks',
      { app: 'web', env: 'production', to: 'v1.0.0', reason: 'bad deploy' },
      { cookie, 'x-csrf-token': csrf },
    );
    expect(rollback.status).toBe(403);
    expect(await rollback.json()).toMatchObject({ error: { code: 'SHIPGATE_E_FORBIDDEN' } });

    const waiting = (await (
      await fetch(`${baseUrl}/api/approvals`, { headers: { cookie } })
    ).json()) as Array<Record<string, unknown>>;
    expect(waiting.find((w) => w.runId === run.id)).toMatchObject({
      app: 'web',
      env: 'production',
      version: 'v1.2.3',
      releaser: 'alice',
      required: 1,
      canDecide: false,
    });
  });

  it('the releaser cannot approve their own release; /api/approvals says why', async () => {
    const run = await releaseAwaitingProduction('alice');
    const { cookie, csrf } = await signIn('alice');
    const res = await post(
      `/api/runs/${run.id}/approvals`,
      { env: 'production', decision: 'approve' },
      {
        cookie,
        'x-csrf-token': csrf,
      },
    );
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      error: { code: 'SHIPGATE_E_APPROVAL_REFUSED', message: expect.stringMatching(/released this version/) },
    });
    const waiting = (await (
      await fetch(`${baseUrl}/api/approvals`, { headers: { cookie } })
    ).json()) as Array<Record<string, unknown>>;
    expect(waiting.find((w) => w.runId === run.id)).toMatchObject({
      canDecide: false,
      whyNot: expect.stringMatching(/released this version/),
    });
  });

  it('another approver decides as their own Slack identity, through the approval queue', async () => {
    const run = await releaseAwaitingProduction('alice');
    const { cookie, csrf } = await signIn('bob');
    const me = (await (await fetch(`${baseUrl}/api/me`, { headers: { cookie } })).json()) as {
      roles: { approverOf: string[] };
    };
    expect(me.roles.approverOf).toEqual(['production']);
    // A person cannot decide as someone else.
    const asAlice = await post(
      `/api/runs/${run.id}/approvals`,
      { env: 'production', decision: 'approve', slackUserId: 'U0ALICE' },
      { cookie, 'x-csrf-token': csrf },
    );
    expect(asAlice.status).toBe(403);
    // No approval worker runs here: the decision waits in the same queue Slack clicks use.
    const jobsBefore = await queues.approval.getJobs(['waiting', 'delayed', 'prioritized']);
    const pending = post(
      `/api/runs/${run.id}/approvals`,
      { env: 'production', decision: 'approve' },
      {
        cookie,
        'x-csrf-token': csrf,
      },
    );
    let job;
    for (let i = 0; i < 50 && job === undefined; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      const jobs = await queues.approval.getJobs(['waiting', 'delayed', 'prioritized']);
      job = jobs.find((j) => !jobsBefore.some((b) => b.id === j.id) && j.data.runId === run.id);
    }
    expect(job?.data).toMatchObject({
      stage: 'approval-decision',
      runId: run.id,
      env: 'production',
      slackUserId: 'U0BOB',
      userName: 'bob',
      decision: 'approve',
    });
    await job!.remove();
    void pending.catch(() => undefined);
  }, 20_000);
});

describe('rollbacks obey the policy', () => {
  it('refuses a rollback in a freeze without break-glass; with it, queues it as the operator', async () => {
    current = parse(policyText(true));
    try {
      const { cookie, csrf } = await signIn('olga');
      const body = { app: 'web', env: 'production', to: 'v1.0.0', reason: 'v1.2.3 breaks checkout' };
      const refused = await post('/api/rollbacks', body, { cookie, 'x-csrf-token': csrf });
      expect(refused.status).toBe(409);
      expect(await refused.json()).toMatchObject({
        error: { code: 'SHIPGATE_E_ROLLBACK_FROZEN', message: expect.stringMatching(/year-end freeze/) },
      });
      const short = await post(
        '/api/rollbacks',
        { ...body, breakGlass: { reason: 'urgent' } },
        {
          cookie,
          'x-csrf-token': csrf,
        },
      );
      expect(short.status).toBe(400);

      const glass = await post(
        '/api/rollbacks',
        { ...body, breakGlass: { reason: 'checkout is down for every customer' } },
        { cookie, 'x-csrf-token': csrf, 'idempotency-key': 'console-break-glass-1' },
      );
      expect(glass.status).toBe(202);
      expect(await glass.json()).toMatchObject({ requestId: 'console-break-glass-1', status: 'queued' });
      // The request the rollback worker plans carries the actor and the break-glass, which it
      // audits and announces (covered with the worker in test/integration/engine).
      const job = (await queues.deploy.getJobs(['waiting'])).find(
        (j) => j.data.requestId === 'console-break-glass-1',
      );
      expect(job?.data).toMatchObject({
        app: 'web',
        env: 'production',
        to: 'v1.0.0',
        requestedBy: 'olga',
        actor: 'olga',
        reason: 'v1.2.3 breaks checkout',
        breakGlass: {
          reason: 'checkout is down for every customer',
          freeze: expect.stringMatching(/year-end freeze/),
        },
      });
      await job!.remove();
    } finally {
      current = parse(policyText(false));
    }
  }, 20_000);
});

describe('named API tokens', () => {
  it('are shown once, stored hashed, scoped, and stop at once when revoked', async () => {
    const { token: reader } = await auth.tokens.create('dashboards', 'read', 'test');
    const { token: approver } = await auth.tokens.create('deploy-bot', 'approve', 'test');
    expect(reader).toMatch(/^sgt_[A-Za-z0-9_-]{40,}$/);
    const stored = JSON.stringify(await producer.hgetall(`${prefix}:console:tokens`));
    expect(stored).not.toContain(reader.slice(4));
    expect(await auth.tokens.list()).toEqual([
      expect.objectContaining({ name: 'dashboards', scope: 'read' }),
      expect.objectContaining({ name: 'deploy-bot', scope: 'approve' }),
    ]);

    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    const me = (await (await fetch(`${baseUrl}/api/me`, { headers: bearer(reader) })).json()) as Record<
      string,
      unknown
    >;
    expect(me).toMatchObject({
      login: 'token:dashboards',
      via: 'token',
      roles: { viewer: true, admin: false },
    });
    expect(me.csrfToken).toBeUndefined();
    expect((await fetch(`${baseUrl}/api/runs`, { headers: bearer(reader) })).status).toBe(200);
    // Scopes: read cannot roll back, approve cannot roll back; bearer requests need no CSRF token.
    const rollback = { app: 'web', env: 'staging', to: 'v1.0.0' };
    expect((await post('/api/rollbacks', rollback, bearer(reader))).status).toBe(403);
    expect((await post('/api/rollbacks', rollback, bearer(approver))).status).toBe(403);

    expect(await auth.tokens.revoke('dashboards')).toBe(true);
    const revoked = await fetch(`${baseUrl}/api/runs`, { headers: bearer(reader) });
    expect(revoked.status).toBe(401);
    expect((await fetch(`${baseUrl}/api/runs`, { headers: bearer(`${approver}x`) })).status).toBe(401);
    // SHIPGATE_API_TOKEN stays an admin token.
    const admin = (await (
      await fetch(`${baseUrl}/api/me`, { headers: bearer(ADMIN_TOKEN) })
    ).json()) as Record<string, unknown>;
    expect(admin).toMatchObject({ login: 'api-token', roles: { admin: true } });
  });

  it('are managed through /api/tokens by admins only (what `shipgate token` calls)', async () => {
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const created = await post('/api/tokens', { name: 'release-bot', scope: 'rollback' }, admin);
    expect(created.status).toBe(201);
    const body = (await created.json()) as { token: string; name: string; scope: string; createdBy: string };
    expect(body).toMatchObject({ name: 'release-bot', scope: 'rollback', createdBy: 'api-token' });
    expect((await post('/api/tokens', { name: 'release-bot', scope: 'read' }, admin)).status).toBe(409);
    const bot = { authorization: `Bearer ${body.token}` };
    expect((await post('/api/tokens', { name: 'sneaky', scope: 'admin' }, bot)).status).toBe(403);
    const list = (await (await fetch(`${baseUrl}/api/tokens`, { headers: admin })).json()) as {
      tokens: Array<{ name: string }>;
    };
    expect(list.tokens.map((t) => t.name)).toContain('release-bot');
    expect(JSON.stringify(list)).not.toContain(body.token);
    const del = await fetch(`${baseUrl}/api/tokens/release-bot`, { method: 'DELETE', headers: admin });
    expect(del.status).toBe(204);
    expect((await fetch(`${baseUrl}/api/me`, { headers: bot })).status).toBe(401);
  });
});

describe('GET /api/events', () => {
  async function readEvents(
    headers: Record<string, string>,
    until: (events: Array<{ id: string; run: Run }>) => boolean,
  ): Promise<Array<{ id: string; run: Run }>> {
    const controller = new AbortController();
    const res = await fetch(`${baseUrl}/api/events`, { headers, signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events: Array<{ id: string; run: Run }> = [];
    const decoder = new TextDecoder();
    let buffer = '';
    const timer = setTimeout(() => controller.abort(), 8000);
    try {
      for await (const chunk of res.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(
            block
              .split('\n')
              .filter((l) => !l.startsWith(':') && l.includes(':'))
              .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
          );
          if (fields.event === 'run') events.push({ id: fields.id!, run: JSON.parse(fields.data!) as Run });
        }
        if (until(events)) break;
      }
    } finally {
      clearTimeout(timer);
      controller.abort();
    }
    return events;
  }

  it('streams run changes live, and resumes after Last-Event-ID', async () => {
    const { cookie } = await signIn('vera');
    const live = readEvents({ cookie }, (events) => events.some((e) => e.run.state === 'awaiting-approval'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const run = await releaseAwaitingProduction('alice');
    const seen = (await live).filter((e) => e.run.id === run.id);
    expect(seen.map((e) => e.run.state)).toEqual(['queued', 'deploying', 'verifying', 'awaiting-approval']);

    // Reconnect after the first change: the next ones come again, in order, and nothing before.
    const resumed = await readEvents({ cookie, 'last-event-id': seen[0]!.id }, (events) =>
      events.some((e) => e.run.id === run.id && e.run.state === 'awaiting-approval'),
    );
    expect(resumed.filter((e) => e.run.id === run.id).map((e) => e.run.state)).toEqual([
      'deploying',
      'verifying',
      'awaiting-approval',
    ]);
    expect((await fetch(`${baseUrl}/api/events`)).status).toBe(401);
  }, 20_000);
});
