/**
 * The console's views of the env repo through a real `serve`: the environments matrix read
 * from the trailers Shipgate writes, and the rollback preview with the rollback planner's
 * target. The env repo is a real git remote (file://); the policy is read from it.
 */
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { createMetrics } from '../../../src/metrics/create-metrics.js';
import { closeQueues, createAllQueues, type AllQueues } from '../../../src/queue/create-queues.js';
import { createRedisConnection } from '../../../src/redis/connection.js';
import { API_PLUGINS } from '../../../src/server/api-plugins.js';
import { buildServer } from '../../../src/server/build-server.js';
import { createEnvRepo, type EnvRepo } from '../../support/env-repo.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../../support/redis.js';

const TOKEN = 'console-env-repo-admin-token-0123';
const POLICY = `version: 1
repos:
  allow: ['acme/*']
  grants:
    acme/web:
      app: web
      environments:
        production: { path: apps/web/production }
environments:
  production: { namespace: web-production }
`;

const src = (n: number) => String(n).repeat(40);
const release = (tag: string, n: number) =>
  `deploy web ${tag} to production\n\nShipgate-Run: 01M8ZFX74JFYW9GVWDA2CKDJ2${n}\nSource-Repo: acme/web\nSource-Commit: ${src(n)}\nImage: ghcr.io/acme/web:${tag}\n`;
const manifest = (tag: string) =>
  `apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: web\nspec:\n  image: ghcr.io/acme/web:${tag}\n`;

let env: EnvRepo;
let app: FastifyInstance;
let baseUrl: string;
let producer: Redis;
let queues: AllQueues;
let prefix: string;

beforeAll(async () => {
  env = await createEnvRepo();
  await env.commitFiles({ 'shipgate/policy.yml': POLICY }, 'platform policy');
  await env.commitFiles({ 'apps/web/production/rollout.yaml': manifest('v1.0.0') }, release('v1.0.0', 1));
  await env.commitFiles({ 'apps/web/production/rollout.yaml': manifest('v1.1.0') }, release('v1.1.0', 2));
  prefix = uniquePrefix('console-env');
  const config = loadConfig(
    {
      GITHUB_WEBHOOK_SECRET: 'console-webhook-secret-0123',
      REDIS_URL: TEST_REDIS_URL,
      SHIPGATE_QUEUE_PREFIX: prefix,
      SHIPGATE_API_TOKEN: TOKEN,
      SHIPGATE_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'shipgate-console-')),
      ENV_REPO: env.url,
      LOG_LEVEL: 'silent',
    },
    'serve',
  );
  const logger = createLogger('silent');
  const metrics = createMetrics({ processMetrics: false });
  producer = createRedisConnection(TEST_REDIS_URL, 'producer');
  await new Promise<void>((resolve) => producer.once('ready', () => resolve()));
  queues = createAllQueues(producer, prefix);
  app = await buildServer({
    config,
    logger,
    producer,
    queues: { webhook: queues.webhook },
    metrics,
    plugins: API_PLUGINS.map((factory) => factory({ config, logger, producer, queues, metrics })),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  baseUrl = typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : '';
});

afterAll(async () => {
  await app?.close();
  await closeQueues(Object.values(queues ?? {}));
  producer?.disconnect();
  await env?.cleanup();
  await deleteKeysWithPrefix(prefix);
});

const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

describe('console views of the env repo', () => {
  it('GET /api/environments shows what is live, since when, and the previous good versions', async () => {
    const res = await fetch(`${baseUrl}/api/environments`, { headers });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      apps: string[];
      environments: string[];
      cells: Array<Record<string, unknown>>;
    };
    expect(body.apps).toEqual(['web']);
    expect(body.environments).toEqual(['production']);
    expect(body.cells).toEqual([
      expect.objectContaining({
        app: 'web',
        env: 'production',
        version: 'v1.1.0',
        commit: src(2),
        envCommit: await env.head(),
        health: 'Unknown',
        previous: [expect.objectContaining({ version: 'v1.0.0', commit: src(1) })],
      }),
    ]);
    expect(typeof body.cells[0]!.liveSince).toBe('string');
  });

  it('POST /api/rollbacks/preview shows the diff a rollback to v1.0.0 would make', async () => {
    const res = await fetch(`${baseUrl}/api/rollbacks/preview`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ app: 'web', env: 'production', to: 'v1.0.0' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { diff: string; from: { version: string }; to: { version: string } };
    expect(body.from.version).toBe('v1.1.0');
    expect(body.to.version).toBe('v1.0.0');
    expect(body.diff).toContain('-  image: ghcr.io/acme/web:v1.1.0');
    expect(body.diff).toContain('+  image: ghcr.io/acme/web:v1.0.0');

    const unknown = await fetch(`${baseUrl}/api/rollbacks/preview`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ app: 'web', env: 'production', to: 'v9.9.9' }),
    });
    expect(unknown.status).toBe(404);
  });
});
