/**
 * Shipgate assembled the way `shipgate start` assembles it — real fastify ingress, real BullMQ
 * workers on real Redis, real git, real kustomize — with GitHub played by the stand-in, which
 * also hosts the app and env repos over smart HTTP behind installation tokens. Nothing of
 * Shipgate's own is replaced: the stand-ins are reached through GITHUB_API_URL and ENV_REPO.
 */
import { generateKeyPairSync, randomInt } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { createRedisConnection, waitUntilReady, type RedisClient } from '../../src/redis/connection.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics/create-metrics.js';
import { closeQueues, createAllQueues, type AllQueues } from '../../src/queue/create-queues.js';
import { RunStore } from '../../src/runs/run-store.js';
import type { Run } from '../../src/runs/run-types.js';
import { API_PLUGINS } from '../../src/server/api-plugins.js';
import { buildServer } from '../../src/server/build-server.js';
import { createWorkers, type WorkerContext, type WorkerSpec } from '../../workers/index.js';
import { APPROVAL_WORKERS } from '../../workers/approval-workers.js';
import { ENGINE_WORKERS } from '../../workers/engine-workers.js';
import { createEnvRepo, type EnvRepo } from './env-repo.js';
import { createGitRemote, type FixtureCommit, type GitRemote } from '../../sandbox/git-remote.js';
import { startGithubStandIn, type GithubStandIn } from '../../sandbox/github-stand-in.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from './redis.js';
import { signedDelivery } from './sign-webhook.js';

export const WEBHOOK_SECRET = 'harness-webhook-secret';
export const APP_ID = '4242';

/** Every file under `dir`, as a fixture commit rooted at `prefix`. */
export function filesOf(dir: string, prefix = ''): FixtureCommit {
  const out: FixtureCommit = {};
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    const rel = prefix ? `${prefix}/${entry}` : entry;
    if (statSync(full).isDirectory()) Object.assign(out, filesOf(full, rel));
    else out[rel] = readFileSync(full, 'utf8');
  }
  return out;
}

export const WEB_PIPELINE = `version: 1
app: web
image:
  repository: ghcr.io/acme/web
test:
  image: node:20-bookworm
  command: sh ./run-tests.sh
scan:
  trivy:
    mode: image
manifests:
  staging:
    kustomize: deploy/overlays/staging
  production:
    kustomize: deploy/overlays/production
environments: [staging, production]
`;

export const POLICY = `version: 1
releaseTagPattern: 'v*'
forkPullRequests: none
repos:
  allow: ['acme/*', '!acme/blocked']
  grants:
    acme/web:
      app: web
      environments:
        staging: { path: apps/web/staging }
        production: { path: apps/web/production }
environments:
  staging:
    namespace: web-staging
  production:
    namespace: web-production
    approval:
      approvers:
        users: [U0APPROVER]
      required: 1
      channel: C0PROD
identities:
  releaser-gh: U0RELEASER
`;

export interface HarnessOptions {
  /** Extra or replacement app-repo files on top of the web fixture. */
  appFiles?: Record<string, string>;
  policy?: string;
  workers?: readonly WorkerSpec[];
  env?: Record<string, string>;
  /**
   * Slack through the stand-in (test/support/slack-stand-in.ts): sets SLACK_BOT_TOKEN,
   * SLACK_SIGNING_SECRET and SLACK_API_URL, so approvals and notifications are on.
   */
  slack?: { apiUrl: string; token: string; signingSecret: string };
  /** The workers' engine tuning. @defaultValue GitHub write pacing off, 5 ms retry unit */
  engineTuning?: WorkerContext['engineTuning'];
  /** Redis to use (a private redis-server for fault tests). @defaultValue the shared test Redis */
  redisUrl?: string;
  /**
   * The outside world of an earlier harness (GitHub stand-in, repos, key, prefix): a second
   * harness on it is "Shipgate restarted". Its close() leaves the world to its first owner.
   */
  world?: HarnessWorld;
}

/** What outlives a Shipgate restart: GitHub (the stand-in and its repos) and the env repo. */
export interface HarnessWorld {
  github: GithubStandIn;
  appRepo: GitRemote;
  envRepo: EnvRepo;
  installationId: number;
  privateKeyPem: string;
  prefix: string;
}

export interface Harness {
  config: Readonly<Config>;
  github: GithubStandIn;
  appRepo: GitRemote;
  envRepo: EnvRepo;
  runs: RunStore;
  queues: AllQueues;
  baseUrl: string;
  installationId: number;
  world: HarnessWorld;
  /** The workers' context, for tests that build an engine context or start more workers. */
  workerCtx: WorkerContext;
  /** Starts more workers on this harness (closed with it). */
  startWorkers(specs: readonly WorkerSpec[]): Worker[];
  /** Signs and POSTs a delivery; returns the HTTP status. */
  deliver(event: string, payload: unknown): Promise<number>;
  /** Waits for a run of acme/web (newest first) that satisfies `matches`. */
  waitForRun(matches: (run: Run) => boolean, what: string, timeoutMs?: number): Promise<Run>;
  close(): Promise<void>;
  /**
   * Stops at once, as a killed Shipgate would: active jobs are neither awaited nor aborted (an
   * abort would let them write their own ending, which a killed process never does).
   */
  crash(): Promise<void>;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const world = options.world ?? (await createHarnessWorld(options));
  const { github, appRepo, envRepo, installationId, privateKeyPem, prefix } = world;
  const ownsWorld = options.world === undefined;
  const redisUrl = options.redisUrl ?? TEST_REDIS_URL;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'shipgate-harness-'));
  const config = loadConfig(
    {
      GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
      GITHUB_APP_ID: APP_ID,
      GITHUB_PRIVATE_KEY: privateKeyPem,
      GITHUB_API_URL: github.url,
      ENV_REPO: 'acme/environments',
      REDIS_URL: redisUrl,
      SHIPGATE_QUEUE_PREFIX: prefix,
      SHIPGATE_DATA_DIR: dataDir,
      LOG_LEVEL: process.env.HARNESS_LOG_LEVEL ?? 'silent',
      ...(options.slack
        ? {
            SLACK_BOT_TOKEN: options.slack.token,
            SLACK_SIGNING_SECRET: options.slack.signingSecret,
            SLACK_API_URL: options.slack.apiUrl,
          }
        : {}),
      ...options.env,
    },
    'start',
  );
  const logger = createLogger(config.logLevel);
  const metrics = createMetrics({ processMetrics: false });
  const producer = createRedisConnection(redisUrl, 'producer');
  // The producer has no offline queue (the ingress must fail fast): wait until it is connected.
  // A cluster client is ready once it has read the slot map: give a loaded machine room.
  await waitUntilReady(producer, 15_000);
  const connections: RedisClient[] = [producer];
  const queues = createAllQueues(producer, prefix);
  const app: FastifyInstance = await buildServer({
    config,
    logger,
    producer,
    queues: { webhook: queues.webhook },
    metrics,
    // The API plugins `serve` mounts (runs API, approvals, Slack interactions).
    plugins: API_PLUGINS.map((factory) => factory({ config, logger, producer, queues, metrics })),
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const baseUrl = typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : '';

  const workerCtx: WorkerContext = {
    config: config as Config,
    logger,
    metrics,
    producer,
    queues,
    // GitHub asks integrators to space writes by a second; a test has no need to.
    engineTuning: options.engineTuning ?? {
      github: { spaceWrites: false, retryAfterBaseMs: 5 },
      executor: { local: { mounts: fakeScannerMounts() } },
    },
    createConnection: () => {
      const c = createRedisConnection(redisUrl, 'worker');
      connections.push(c);
      return c;
    },
  };
  const runs = new RunStore(producer, { prefix: `${prefix}:runs` });
  const workers: Worker[] = createWorkers(
    workerCtx,
    options.workers ?? [...ENGINE_WORKERS, ...APPROVAL_WORKERS],
  );

  return {
    config,
    github,
    appRepo,
    envRepo,
    runs,
    queues,
    baseUrl,
    installationId,
    world,
    workerCtx,
    startWorkers(specs) {
      const more = createWorkers(workerCtx, specs);
      workers.push(...more);
      return more;
    },
    async deliver(event, payload) {
      const delivery = await signedDelivery({ secret: WEBHOOK_SECRET, event, payload });
      const res = await fetch(`${baseUrl}/webhooks/github`, {
        method: 'POST',
        headers: delivery.headers,
        body: delivery.body,
      });
      await res.arrayBuffer();
      return res.status;
    },
    async waitForRun(matches, what, timeoutMs = 20_000) {
      return eventually(
        async () => (await runs.listRuns({ repo: 'acme/web' })).runs.find(matches),
        timeoutMs,
        what,
      );
    },
    async crash() {
      await Promise.allSettled(workers.map((w) => w.close(true)));
      await app.close();
      await closeQueues(Object.values(queues));
      for (const c of connections) c.disconnect();
      // A forced close does not wait for running jobs: a gate's `git clone` may still be writing
      // into its execution folder (a real crash would take it along), so retry what it refills.
      rmSync(dataDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
    },
    async close() {
      await Promise.allSettled(workers.map((w) => w.close()));
      await app.close();
      await closeQueues(Object.values(queues));
      for (const c of connections) c.disconnect();
      rmSync(dataDir, { recursive: true, force: true });
      if (ownsWorld) await disposeHarnessWorld(world, redisUrl);
    },
  };
}

/** GitHub stand-in, app repo and env repo, for harnesses that restart Shipgate on one world. */
export async function createHarnessWorld(
  options: Pick<HarnessOptions, 'appFiles' | 'policy'> = {},
): Promise<HarnessWorld> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  // @octokit/auth-app shares in-flight token requests by installation id: keep ours unique.
  const installationId = randomInt(10_000, 2_000_000_000);
  const github = await startGithubStandIn({
    appId: APP_ID,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    installations: [{ id: installationId, account: '*' }],
  });

  const fixtureDir = path.join(import.meta.dirname, '..', 'fixtures', 'apps', 'web');
  const appFiles: Record<string, string> = {
    ...(filesOf(fixtureDir) as Record<string, string>),
    '.shipgate.yml': WEB_PIPELINE,
    'run-tests.sh': 'echo "all 3 tests passed"\n',
    ...options.appFiles,
  };
  const appRepo = createGitRemote([appFiles]);
  github.hostGitRepo('acme', 'web', appRepo.bareDir);
  // The contents API serves the same files at that commit (Shipgate reads .shipgate.yml through it).
  for (const [file, content] of Object.entries(appFiles))
    github.setFile('acme', 'web', appRepo.shas[0]!, file, content);
  const envRepo = await createEnvRepo();
  await envRepo.commitFiles({ 'shipgate/policy.yml': options.policy ?? POLICY }, 'platform policy');
  github.hostGitRepo('acme', 'environments', envRepo.bare);

  const prefix = uniquePrefix('harness');
  return { github, appRepo, envRepo, installationId, privateKeyPem, prefix };
}

export async function disposeHarnessWorld(world: HarnessWorld, redisUrl = TEST_REDIS_URL): Promise<void> {
  await world.github.close();
  world.appRepo.cleanup();
  await world.envRepo.cleanup();
  await deleteKeysWithPrefix(world.prefix, redisUrl).catch(() => {});
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what} not reached in ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The tests put the stand-in scanners first on PATH; sandboxed gates see PATH folders read-only,
 * and the stand-ins record their calls beside themselves, so their folder is mounted writable.
 */
export function fakeScannerMounts() {
  return (process.env.PATH ?? '')
    .split(':')
    .filter((dir) => path.basename(dir).startsWith('shipgate-fake-scanners-'))
    .map((dir) => ({ source: dir, target: dir, writable: true }));
}

/** A GitHub payload from the test fixtures, retargeted at acme/web and the harness installation. */
export function fixturePayload(file: string, h: Pick<Harness, 'installationId'>): Record<string, unknown> {
  const payload = JSON.parse(
    readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'github', file), 'utf8'),
  ) as Record<string, unknown>;
  const repository = payload.repository as Record<string, unknown>;
  Object.assign(repository, {
    name: 'web',
    full_name: 'acme/web',
    owner: { ...(repository.owner as object), login: 'acme' },
    private: true,
  });
  payload.installation = { id: h.installationId, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u' };
  return payload;
}
