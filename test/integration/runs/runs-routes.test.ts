import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runsRoutes, type GetRunResponse, type ListRunsResponse } from '../../../src/api/runs-routes.js';
import { RunNotFound, RunsQueryInvalid, Unauthorized } from '../../../src/errors.js';
import { RunStore } from '../../../src/runs/run-store.js';
import type { Run } from '../../../src/runs/run-types.js';
import { handleError } from '../../../src/http/error-handler.js';
import { deleteKeysWithPrefix, testRedis, uniquePrefix } from '../../support/redis.js';
import type { RedisClient } from '../../../src/redis/connection.js';

const TOKEN = 'test-token-for-runs-api';

/** A small stand-in for the server's bearer-token preHandler (the real one is wired by the lead). */
async function requireToken(request: FastifyRequest): Promise<void> {
  if (request.headers.authorization !== `Bearer ${TOKEN}`) throw Unauthorized();
}

describe('runs API (fastify + real Redis)', () => {
  let prefix: string;
  let redis: RedisClient;
  let store: RunStore;
  let app: FastifyInstance;
  let runs: Run[];
  const auth = { authorization: `Bearer ${TOKEN}` };

  beforeEach(async () => {
    prefix = uniquePrefix('runs-api');
    redis = testRedis();
    store = new RunStore(redis, { prefix });
    app = Fastify({ logger: false });
    app.setErrorHandler(handleError);
    await app.register(runsRoutes({ store, requireToken }));
    await app.ready();
    runs = [];
    for (const [i, repo] of ['acme/shop', 'acme/shop', 'acme/web'].entries()) {
      const { run } = await store.createRun(
        {
          kind: 'release',
          repo,
          installationId: 1,
          sha: String(i).repeat(40),
          ref: `refs/tags/v1.0.${i}`,
          tag: `v1.0.${i}`,
          releaser: 'octocat',
        },
        { idempotencyKey: `release:${repo}:v1.0.${i}` },
      );
      runs.push(run);
    }
    await store.transition(runs[1]!.id, { from: 'queued', to: 'gating' });
    await store.appendEvent(runs[1]!.id, {
      type: 'gate',
      message: 'tests passed',
      data: { durationMs: 812 },
    });
  });

  afterEach(async () => {
    await app.close();
    redis.disconnect();
    await deleteKeysWithPrefix(prefix);
  });

  it('requires the bearer token on both routes', async () => {
    for (const url of ['/api/runs', `/api/runs/${runs[0]!.id}`]) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toEqual({ error: { code: Unauthorized.code, message: expect.any(String) } });
      const wrong = await app.inject({ method: 'GET', url, headers: { authorization: 'Bearer nope' } });
      expect(wrong.statusCode).toBe(401);
    }
  });

  it('lists runs newest first, with filters and a cursor', async () => {
    const all = await app.inject({ method: 'GET', url: '/api/runs', headers: auth });
    expect(all.statusCode).toBe(200);
    expect(all.headers['cache-control']).toBe('no-store');
    const body = all.json<ListRunsResponse>();
    expect(body.runs.map((r) => r.id)).toEqual(runs.map((r) => r.id).reverse());
    expect(body.nextCursor).toBeNull();

    const shop = await app.inject({
      method: 'GET',
      url: '/api/runs?repo=acme/shop&kind=release',
      headers: auth,
    });
    expect(shop.json<ListRunsResponse>().runs.map((r) => r.repo)).toEqual(['acme/shop', 'acme/shop']);
    const gating = await app.inject({ method: 'GET', url: '/api/runs?state=gating', headers: auth });
    expect(gating.json<ListRunsResponse>().runs).toEqual([
      expect.objectContaining({ id: runs[1]!.id, state: 'gating', version: 2 }),
    ]);

    const first = (
      await app.inject({ method: 'GET', url: '/api/runs?limit=2', headers: auth })
    ).json<ListRunsResponse>();
    expect(first.runs).toHaveLength(2);
    expect(first.nextCursor).toBe(runs[1]!.id);
    const second = (
      await app.inject({ method: 'GET', url: `/api/runs?limit=2&cursor=${first.nextCursor}`, headers: auth })
    ).json<ListRunsResponse>();
    expect(second.runs.map((r) => r.id)).toEqual([runs[0]!.id]);
    expect(second.nextCursor).toBeNull();
  });

  it('answers 400 with a code for bad query values', async () => {
    for (const query of [
      'state=exploded',
      'kind=deploy',
      'limit=0',
      'limit=101',
      'limit=ten',
      'limit=1.5',
      'repo=../../etc',
      'cursor=abc',
      'colour=blue',
      'state=queued&state=gating',
    ]) {
      const res = await app.inject({ method: 'GET', url: `/api/runs?${query}`, headers: auth });
      expect(res.statusCode, query).toBe(400);
      expect(res.json().error.code, query).toBe(RunsQueryInvalid.code);
    }
  });

  it('returns one run with its event log, and 404 with a code for unknown or malformed ids', async () => {
    const res = await app.inject({ method: 'GET', url: `/api/runs/${runs[1]!.id}`, headers: auth });
    expect(res.statusCode).toBe(200);
    const body = res.json<GetRunResponse>();
    expect(body.run).toMatchObject({ id: runs[1]!.id, state: 'gating', repo: 'acme/shop', tag: 'v1.0.1' });
    expect(body.events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'created'],
      [2, 'state'],
      [3, 'gate'],
    ]);
    expect(body.events[1]!.transition).toEqual({ from: 'queued', to: 'gating' });
    expect(body.events[2]!.data).toEqual({ durationMs: 812 });

    for (const id of ['01JAAAAAAAAAAAAAAAAAAAAAAA', 'not-a-run-id', 'x'.repeat(90)]) {
      const missing = await app.inject({ method: 'GET', url: `/api/runs/${id}`, headers: auth });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().error.code).toBe(RunNotFound.code);
    }
  });

  it('serves the same over a real HTTP listener', async () => {
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    const res = await fetch(`${address}/api/runs?repo=acme/web`, { headers: auth });
    expect(res.status).toBe(200);
    expect(((await res.json()) as ListRunsResponse).runs.map((r) => r.id)).toEqual([runs[2]!.id]);
    const denied = await fetch(`${address}/api/runs`);
    expect(denied.status).toBe(401);
  });
});
