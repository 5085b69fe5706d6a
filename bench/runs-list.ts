/**
 * The console's runs page with 1,000 runs: `GET /api/runs` answered by the real server (the API
 * plugins `serve` mounts, the run store on real Redis), authenticated with a session cookie as
 * a browser would be, so the policy lookup and cookie checks are inside the measured time.
 *
 *   npx tsx bench/runs-list.ts [runs=1000] [samples=30]
 *
 * Measures: the first page (100 runs, what the page loads), a filter that matches one run in
 * ten (app + env, checked on the records: the worst case for the scan budget), and walking all
 * pages with the cursor. Setup (creating the runs) is outside the measured window.
 */
import { performance } from 'node:perf_hooks';
import { createConsoleAuth } from '../src/auth/console-auth.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { createMetrics } from '../src/metrics/create-metrics.js';
import { parsePolicy } from '../src/policy/parse-policy.js';
import { closeQueues, createAllQueues } from '../src/queue/create-queues.js';
import { createRedisConnection } from '../src/redis/connection.js';
import { RunStore } from '../src/runs/run-store.js';
import { API_PLUGINS } from '../src/server/api-plugins.js';
import { buildServer } from '../src/server/build-server.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../test/support/redis.js';

const total = Number(process.argv[2] ?? 1000);
const samples = Number(process.argv[3] ?? 30);

const parsed = parsePolicy(`version: 1
repos: { allow: ['acme/*'] }
environments:
  staging: { namespace: s }
  production: { namespace: p }
access: { viewers: [bench-user] }
`);
if (!parsed.ok) throw new Error('bench policy invalid');
const policy = parsed.policy;

const prefix = uniquePrefix('bench-runs');
const config = loadConfig(
  {
    GITHUB_WEBHOOK_SECRET: 'bench-webhook-secret-0123456789',
    REDIS_URL: TEST_REDIS_URL,
    SHIPGATE_QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    SHIPGATE_PUBLIC_URL: 'http://127.0.0.1',
    GITHUB_OAUTH_CLIENT_ID: 'Iv1.bench',
    GITHUB_OAUTH_CLIENT_SECRET: 'bench-oauth-client-secret-0123456789',
    SHIPGATE_SESSION_SECRET: 'bench-session-secret-0123456789-0123456789',
  },
  'serve',
);
const logger = createLogger('silent');
const metrics = createMetrics({ processMetrics: false });
const producer = createRedisConnection(TEST_REDIS_URL, 'producer');
await new Promise<void>((resolve) => producer.once('ready', () => resolve()));
const queues = createAllQueues(producer, prefix);
const auth = createConsoleAuth({
  config,
  redis: producer,
  logger,
  policy: { current: async () => ({ policy, commit: 'a'.repeat(40) }) },
});
const app = await buildServer({
  config,
  logger,
  producer,
  queues: { webhook: queues.webhook },
  metrics,
  limits: { api: { max: 1_000_000, timeWindowMs: 60_000 } },
  plugins: API_PLUGINS.map((factory) => factory({ config, logger, producer, queues, metrics, auth })),
});
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
const base = typeof address === 'object' && address ? `http://127.0.0.1:${address.port}` : '';

const store = new RunStore(producer, { prefix: `${prefix}:runs` });
for (let i = 0; i < total; i += 50) {
  await Promise.all(
    Array.from({ length: Math.min(50, total - i) }, async (_, j) => {
      const n = i + j;
      const { run } = await store.createRun(
        {
          kind: 'release',
          repo: 'acme/web',
          installationId: 1,
          sha: n.toString(16).padStart(40, '0'),
          ref: `refs/tags/v1.${n}.0`,
          tag: `v1.${n}.0`,
          app: n % 10 === 0 ? 'api' : 'web',
          releaser: 'bench-user',
        },
        { idempotencyKey: `bench:${n}` },
      );
      await store.transition(run.id, {
        from: 'queued',
        to: 'deploying',
        env: n % 2 === 0 ? 'production' : 'staging',
      });
    }),
  );
}
const { id: sessionId } = await auth.sessions!.create({
  login: 'bench-user',
  name: null,
  avatarUrl: null,
  orgs: [],
  teams: [],
});
const { sign } = await import('@fastify/cookie');
const cookie = `shipgate_session=${encodeURIComponent(sign(sessionId, config.console!.sessionSecret))}`;

async function time(
  path: string,
): Promise<{ ms: number; body: { runs: unknown[]; nextCursor: string | null } }> {
  const t0 = performance.now();
  const res = await fetch(`${base}${path}`, { headers: { cookie } });
  const body = (await res.json()) as { runs: unknown[]; nextCursor: string | null };
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
  return { ms: performance.now() - t0, body };
}

function summary(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return {
    p50: Math.round(at(50) * 10) / 10,
    p95: Math.round(at(95) * 10) / 10,
    max: Math.round(at(100) * 10) / 10,
  };
}

await time('/api/runs?limit=100'); // warm-up
const firstPage: number[] = [];
const filtered: number[] = [];
const walk: number[] = [];
let filteredCount = 0;
let walked = 0;
for (let s = 0; s < samples; s += 1) {
  firstPage.push((await time('/api/runs?limit=100')).ms);
  let t0 = performance.now();
  let cursor: string | null = null;
  filteredCount = 0;
  do {
    const r: { ms: number; body: { runs: unknown[]; nextCursor: string | null } } = await time(
      `/api/runs?app=api&env=production&limit=100${cursor ? `&cursor=${cursor}` : ''}`,
    );
    filteredCount += r.body.runs.length;
    cursor = r.body.nextCursor;
  } while (cursor !== null);
  filtered.push(performance.now() - t0);
  t0 = performance.now();
  cursor = null;
  walked = 0;
  do {
    const r: { ms: number; body: { runs: unknown[]; nextCursor: string | null } } = await time(
      `/api/runs?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
    );
    walked += r.body.runs.length;
    cursor = r.body.nextCursor;
  } while (cursor !== null);
  walk.push(performance.now() - t0);
}

console.log(
  JSON.stringify(
    {
      runs: total,
      samples,
      firstPage100Ms: summary(firstPage),
      filterAppEnvAllPagesMs: { ...summary(filtered), matched: filteredCount },
      allPagesMs: { ...summary(walk), runs: walked },
    },
    null,
    2,
  ),
);
await app.close();
await closeQueues(Object.values(queues));
producer.disconnect();
await deleteKeysWithPrefix(prefix);
