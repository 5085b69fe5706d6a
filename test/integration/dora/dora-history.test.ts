import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import Fastify, { type FastifyRequest } from 'fastify';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doraRoutes } from '../../../src/api/dora-routes.js';
import { DeployHistory } from '../../../src/dora/deploy-history.js';
import { registerDoraMetrics } from '../../../src/dora/dora-metrics.js';
import { recordDeployForDora, type DeployOutcome } from '../../../src/dora/record-deploy.js';
import { Unauthorized } from '../../../src/errors.js';
import { createGithubApp } from '../../../src/github/create-github-app.js';
import { createLogger } from '../../../src/logger.js';
import { handleError } from '../../../src/http/error-handler.js';
import { startGithubStandIn, type GithubStandIn } from '../../../sandbox/github-stand-in.js';
import { startRedisServer, type TestRedisServer } from '../../support/redis-server.js';

const TOKEN = 'dora-test-token-0123456789';
const requireToken = async (request: FastifyRequest) => {
  if (request.headers.authorization !== `Bearer ${TOKEN}`) throw Unauthorized();
};
const at = (d: number, h = 0) => new Date(Date.UTC(2026, 0, d, h));
const NOW = at(31);
const silent = createLogger('silent', new Writable({ write: (_c, _e, done) => done() }));

/**
 * The app repo, with commits at known author dates and release tags:
 *   c1 Jan 1 00:00 (v1)  c2 Jan 3 12:00, c3 Jan 4 00:00 (v2)  c4 Jan 6 12:00 (v3, v4)  c5 Jan 9 18:00 (v5)
 */
function appRepo(root: string): string {
  const seed = path.join(root, 'seed');
  const bare = path.join(root, 'web.git');
  const git = (args: string[], env: Record<string, string> = {}) =>
    execFileSync('git', args, { cwd: seed, env: { ...process.env, ...env }, encoding: 'utf8' });
  execFileSync('git', ['init', '-q', '--initial-branch=main', seed]);
  const commit = (n: number, date: Date, tags: string[]) => {
    writeFileSync(path.join(seed, 'file.txt'), `change ${n}\n`);
    const stamp = `${Math.floor(date.getTime() / 1000)} +0000`;
    git(['add', '.']);
    git(['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', 'commit', '-q', '-m', `change ${n}`], {
      GIT_AUTHOR_DATE: stamp,
      GIT_COMMITTER_DATE: stamp,
    });
    for (const t of tags) git(['tag', t]);
  };
  commit(1, at(1), ['v1']);
  commit(2, at(3, 12), []);
  commit(3, at(4), ['v2']);
  commit(4, at(6, 12), ['v3', 'v4']);
  commit(5, at(9, 18), ['v5']);
  execFileSync('git', ['clone', '-q', '--bare', seed, bare]);
  return bare;
}

describe('DORA from the deploy history (GitHub compare stand-in, Redis with AOF, API and /metrics)', () => {
  let standIn: GithubStandIn;
  let redisServer: TestRedisServer;
  let root: string;

  beforeAll(async () => {
    const keys = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
    standIn = await startGithubStandIn({ appId: 77, publicKeyPem: keys.publicKey });
    root = mkdtempSync(path.join(tmpdir(), 'sg-dora-'));
    standIn.hostGitRepo('acme', 'web', appRepo(root));
    redisServer = await startRedisServer();

    const github = createGithubApp({
      appId: '77',
      privateKey: keys.privateKey,
      apiUrl: standIn.url,
      logger: silent,
      spaceWrites: false,
      retryAfterBaseMs: 5,
    });
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    const history = new DeployHistory(redis, { prefix: 'sg', now: () => NOW });
    const deps = {
      history,
      compare: async () => {
        const octokit = await github.forInstallation(1);
        return (route: string, params: Record<string, string>) => octokit.request(route, params);
      },
      logger: silent,
    };
    const base = { repo: 'acme/web', app: 'web', env: 'production' } as const;
    const script: DeployOutcome[] = [
      { ...base, runId: 'r1', runKind: 'release', tag: 'v1', outcome: 'succeeded', at: at(2) },
      { ...base, runId: 'r2', runKind: 'release', tag: 'v2', outcome: 'succeeded', at: at(5) },
      { ...base, runId: 'r3', runKind: 'release', tag: 'v3', outcome: 'rolled-back', at: at(6) },
      { ...base, runId: 'r4', runKind: 'release', tag: 'v4', outcome: 'succeeded', at: at(7) },
      { ...base, runId: 'r5', runKind: 'release', tag: 'v5', outcome: 'succeeded', at: at(10) },
      { ...base, runId: 'b1', runKind: 'rollback', outcome: 'succeeded', at: at(10, 4) },
    ];
    for (const d of script) await recordDeployForDora(deps, d);
    // A retried deploy job records nothing new.
    await recordDeployForDora(deps, script[1]!);
    redis.disconnect();
  });

  afterAll(async () => {
    await standIn?.close();
    await redisServer?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves the exact figures through the API and /metrics after a Redis restart from its AOF', async () => {
    await redisServer.stop();
    await redisServer.start();
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: 1 });
    const history = new DeployHistory(redis, { prefix: 'sg', now: () => NOW });
    const registry = new Registry();
    registerDoraMetrics(registry, history, { now: () => NOW });
    const app = Fastify({ logger: false });
    app.setErrorHandler(handleError);
    await app.register(doraRoutes({ history, requireToken, now: () => NOW }));
    try {
      const records = await history.all();
      expect(records.map((r) => r.runId)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5', 'b1']);
      // v1 has no previous tag: no lead time. v2: c2 (Jan 3 12:00) → Jan 5 = 36 h;
      // v4 (after the failed v3, same commit): c4 Jan 6 12:00 → Jan 7 = 12 h; v5: c5 → Jan 10 = 6 h.
      expect(records.find((r) => r.runId === 'r2')?.firstCommitAt).toBe(at(3, 12).toISOString());

      const unauthorized = await app.inject({ url: '/api/metrics/dora' });
      expect(unauthorized.statusCode).toBe(401);
      const res = await app.inject({
        url: '/api/metrics/dora?app=web&env=production&window=30d',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(res.statusCode).toBe(200);
      const item = res.json().items[0];
      expect(item).toMatchObject({
        app: 'web',
        env: 'production',
        deployments: 4,
        totalDeployments: 5,
        failedDeployments: 2,
        changeFailureRate: 0.4,
        leadTimeSeconds: { median: 12 * 3600, count: 3 },
        timeToRestoreSeconds: { median: 14 * 3600, count: 2 },
      });
      expect(item.deploymentFrequencyPerDay).toBeCloseTo(4 / 30, 10);
      const bad = await app.inject({
        url: '/api/metrics/dora?window=1y',
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      expect(bad.statusCode).toBe(400);

      const text = await registry.metrics();
      expect(text).toContain('shipgate_dora_change_failure_rate{app="web",env="production"} 0.4');
      expect(text).toContain(`shipgate_dora_lead_time_seconds{app="web",env="production"} ${12 * 3600}`);
      expect(text).toContain(
        `shipgate_dora_time_to_restore_seconds{app="web",env="production"} ${14 * 3600}`,
      );
      expect(text).toContain('shipgate_dora_deployments{app="web",env="production",outcome="succeeded"} 4');
      expect(text).toContain(
        'shipgate_dora_lead_time_distribution_seconds_count{app="web",env="production"} 3',
      );
      expect(text).toContain(
        'shipgate_dora_time_to_restore_distribution_seconds_bucket{le="43200",app="web",env="production"} 1',
      );
    } finally {
      await app.close();
      redis.disconnect();
    }
  });
});
