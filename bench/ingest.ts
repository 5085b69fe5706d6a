/**
 * `npm run bench:ingest`: the same real, signed `push` delivery against three servers, each in
 * its own child process (so autocannon, in this process, does not share their event loop):
 *   1. Shipgate's ingress: verify, dedupe, durable enqueue in Redis (fresh prefix).
 *   2. A bare fastify route that reads the body and answers 202 (the upper bound).
 *   3. Probot 14 with a no-op `push` handler (what people use today; persists nothing).
 * Each request carries a fresh X-GitHub-Delivery (autocannon setupRequest), so Shipgate's dedupe
 * never short-circuits. Prints req/s, p50, p99, the ratios, and p99 at a fixed 500 req/s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sign } from '@octokit/webhooks-methods';

const SECRET = 'bench-webhook-secret';
const PATH = '/webhooks/github';
// Set by main(): its own redis-server (AOF on, as `shipgate start` runs it), unless REDIS_URL is
// given. The shared test Redis is busy with other work and would measure that work, not ours.
let REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL ?? '';
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 2);
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 8);
const FIXED_S = Number(process.env.BENCH_FIXED_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const FIXED_RATE = 500;

type Kind = 'shipgate' | 'fastify' | 'probot';

// ── servers (child mode) ─────────────────────────────────────────────────────
async function serve(kind: Kind): Promise<string> {
  // Every server logs at info into /dev/null: the formatting cost is real, the disk is not.
  const { pino } = await import('pino');
  const sink = createWriteStream('/dev/null');
  if (kind === 'shipgate') {
    const { loadConfig } = await import('../src/config.js');
    const { createLogger } = await import('../src/logger.js');
    const { createMetrics } = await import('../src/metrics/create-metrics.js');
    const { createIngressQueues } = await import('../src/queue/create-queues.js');
    const { createRedisConnection } = await import('../src/redis/connection.js');
    const { buildServer } = await import('../src/server/build-server.js');
    const prefix = process.env.BENCH_PREFIX!;
    const config = loadConfig(
      { GITHUB_WEBHOOK_SECRET: SECRET, REDIS_URL, SHIPGATE_QUEUE_PREFIX: prefix, LOG_LEVEL: 'info' },
      'serve',
    );
    const producer = createRedisConnection(REDIS_URL, 'producer');
    // What-if: ioredis auto-pipelining on the producer (one socket write per tick for all
    // concurrent requests). Not on in production yet: createRedisConnection has no option for it.
    if (process.env.BENCH_AUTOPIPELINE === '1') producer.options.enableAutoPipelining = true;
    await new Promise((r) => producer.once('ready', r));
    const queues = createIngressQueues(producer, prefix);
    const app = await buildServer({
      config,
      logger: createLogger('info', sink),
      producer,
      queues,
      metrics: createMetrics(),
    });
    return app.listen({ port: 0, host: '127.0.0.1' });
  }
  if (kind === 'fastify') {
    const { default: Fastify } = await import('fastify');
    const app = Fastify({ loggerInstance: pino({ level: 'info' }, sink) });
    app.addContentTypeParser(
      'application/json',
      { parseAs: 'string', bodyLimit: 25 * 1024 * 1024 },
      (_r, b, done) => done(null, b),
    );
    app.post(PATH, async (_request, reply) => reply.code(202).send({ ok: true }));
    return app.listen({ port: 0, host: '127.0.0.1' });
  }
  const { Probot, createNodeMiddleware } = await import('probot');
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const probot = new Probot({ appId: 1, privateKey, secret: SECRET, log: pino({ level: 'info' }, sink) });
  const middleware = await createNodeMiddleware(
    (app) => {
      app.on('push', async () => {});
    },
    { probot, webhooksPath: PATH },
  );
  const server = createServer((req, res) => void middleware(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

// ── orchestration (parent mode) ──────────────────────────────────────────────
interface Result {
  requests: { average: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  '2xx': number;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<Result>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

function startChild(kind: Kind, env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), '--serve', kind],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /READY (\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, child });
    });
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

async function load(url: string, body: string, signature: string, seconds: number, rate?: number) {
  const headers = {
    'content-type': 'application/json',
    'x-github-event': 'push',
    'x-github-hook-id': '1',
    'x-github-hook-installation-target-id': '1',
    'x-hub-signature-256': signature,
    'user-agent': 'GitHub-Hookshot/bench',
  };
  return autocannon({
    url: `${url}${PATH}`,
    method: 'POST',
    connections: rate === undefined ? CONNECTIONS : 20,
    duration: seconds,
    ...(rate === undefined ? {} : { overallRate: rate }),
    body,
    headers,
    requests: [
      {
        setupRequest: (req: { headers: Record<string, string> }) => {
          req.headers = { ...req.headers, 'x-github-delivery': randomUUID() };
          return req;
        },
      },
    ],
  });
}

async function main(): Promise<void> {
  const payload = readFileSync(
    fileURLToPath(
      new URL('../node_modules/@octokit/webhooks-examples/api.github.com/index.json', import.meta.url),
    ),
    'utf8',
  );
  const push = (JSON.parse(payload) as { name: string; examples: unknown[] }[]).find(
    (e) => e.name === 'push',
  )!.examples[0];
  const body = JSON.stringify(push);
  const signature = await sign(SECRET, body);
  const prefix = `bench-${randomUUID()}`;
  const { startEmbeddedRedis } = await import('../src/redis/embedded-redis.js');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'shipgate-bench-'));
  const embedded = REDIS_URL === '' ? await startEmbeddedRedis({ dataDir }) : undefined;
  if (embedded !== undefined) REDIS_URL = embedded.url;
  const rows: { kind: Kind; max: Result; fixed: Result }[] = [];
  for (const kind of ['shipgate', 'fastify', 'probot'] as Kind[]) {
    const { url, child } = await startChild(kind, { BENCH_PREFIX: prefix, BENCH_REDIS_URL: REDIS_URL });
    try {
      await load(url, body, signature, WARMUP_S);
      const max = await load(url, body, signature, DURATION_S);
      const fixed = await load(url, body, signature, FIXED_S, FIXED_RATE);
      rows.push({ kind, max, fixed });
    } finally {
      child.kill('SIGTERM');
    }
  }
  const { Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL);
  const waiting = await redis.llen(`${prefix}:webhook:wait`);
  // Clean up the bench keys.
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
  redis.disconnect();
  await embedded?.stop();
  rmSync(dataDir, { recursive: true, force: true });

  const by = (k: Kind) => rows.find((r) => r.kind === k)!;
  const rps = (k: Kind) => by(k).max.requests.average;
  const names: Record<Kind, string> = {
    shipgate: 'Shipgate ingress (verify + dedupe + enqueue)',
    fastify: 'bare fastify (read body, 202)',
    probot: 'Probot 14 (no-op handler)',
  };
  console.log(`\nmachine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  console.log(
    `load: ${CONNECTIONS} connections × ${DURATION_S} s after ${WARMUP_S} s warm-up; body ${body.length} bytes\n`,
  );
  console.log('| server | req/s | p50 ms | p99 ms | vs fastify | vs Probot | p99 ms @ 500 req/s | non-2xx |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${names[r.kind]} | ${Math.round(rps(r.kind))} | ${r.max.latency.p50} | ${r.max.latency.p99} | ` +
        `${(rps(r.kind) / rps('fastify')).toFixed(2)} | ${(rps(r.kind) / rps('probot')).toFixed(2)} | ` +
        `${r.fixed.latency.p99} | ${r.max.non2xx + r.fixed.non2xx + r.max.errors + r.fixed.errors} |`,
    );
  }
  console.log(
    `\nShipgate jobs waiting in Redis after the run: ${waiting}; Redis: ${embedded ? 'own redis-server, AOF everysec' : REDIS_URL}`,
  );
}

const serveIndex = process.argv.indexOf('--serve');
if (serveIndex !== -1) {
  // Exit through process.exit so `--cpu-prof` can write its profile.
  process.on('SIGTERM', () => process.exit(0));
  const url = await serve(process.argv[serveIndex + 1] as Kind);
  process.stdout.write(`READY ${url}\n`);
} else {
  await main();
}
