/**
 * `npm run bench:ingest`: the same real, signed 7.9 KB tag `push` against four servers, each in its
 * own child process (so autocannon, in this process, does not share their event loop):
 *   1. bare fastify: reads the body and answers 202 (the upper bound);
 *   2. Probot 14 with a no-op `push` handler (what people use today; persists nothing);
 *   3. plain verify + one BullMQ `add` per request (the naive durable ingress);
 *   4. Shipgate's ingress: verify, one validation pass, group-committed `addBulk`.
 * Rounds are interleaved (each round runs every server once), so drift in the shared machine's
 * load spreads over all four. Each request carries a fresh X-GitHub-Delivery. Prints req/s, p99,
 * the ratios, p99 and RSS at a fixed 500 req/s, and idle RSS; once with Redis as `shipgate start`
 * runs it (AOF everysec) and once with `appendonly no`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const FIXED_S = Number(process.env.BENCH_FIXED_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const FIXED_RATE = 500;

type Kind = 'fastify' | 'probot' | 'verify-add' | 'checks-only' | 'shipgate';
const DEFAULT_KINDS: Kind[] = ['fastify', 'probot', 'verify-add', 'shipgate'];
// BENCH_KINDS narrows or widens the set (e.g. `shipgate` alone, to profile it; or `checks-only`,
// which is not in the default set); the ratios need fastify and probot.
const KINDS: Kind[] = process.env.BENCH_KINDS
  ? [...DEFAULT_KINDS.slice(0, 3), 'checks-only' as const, 'shipgate' as const].filter((k) =>
      process.env.BENCH_KINDS!.split(',').includes(k),
    )
  : DEFAULT_KINDS;
// BENCH_CPU_PROF_DIR: each server child writes a V8 CPU profile there when it exits.
const PROFILE_ARGS = process.env.BENCH_CPU_PROF_DIR
  ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}`]
  : [];

// ── servers (child mode) ─────────────────────────────────────────────────────
async function serve(kind: Kind): Promise<string> {
  // Every server logs at info into /dev/null: the formatting cost is real, the disk is not.
  REDIS_URL = process.env.BENCH_REDIS_URL ?? REDIS_URL;
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
  if (kind === 'verify-add') {
    const { Queue } = await import('bullmq');
    const { Redis } = await import('ioredis');
    const { default: Fastify } = await import('fastify');
    const { verifySignature } = await import('../src/webhooks/verify-signature.js');
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const queue = new Queue('webhook', { connection, prefix: `${process.env.BENCH_PREFIX!}-plain` });
    const app = Fastify({ loggerInstance: pino({ level: 'info' }, sink) });
    app.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: 25 * 1024 * 1024 },
      (_r, b, done) => done(null, b),
    );
    app.post(PATH, async (request, reply) => {
      const header = request.headers['x-hub-signature-256'] as string | undefined;
      if (!verifySignature([SECRET], request.body as Buffer, header)) return reply.code(401).send();
      const payload = JSON.parse((request.body as Buffer).toString('utf8')) as Record<string, unknown>;
      const id = String(request.headers['x-github-delivery']);
      await queue.add('push', { ref: payload.ref, after: payload.after }, { jobId: `d-${id}` });
      return reply.code(202).send({ ok: true });
    });
    return app.listen({ port: 0, host: '127.0.0.1' });
  }
  if (kind === 'checks-only') {
    // Shipgate's own per-delivery work without persisting anything: header read, HMAC, JSON
    // parse, the one validation pass into job data. What is left for Redis after this is the
    // budget an enqueue has if Shipgate is to beat Probot, which persists nothing.
    const { default: Fastify } = await import('fastify');
    const { verifySignature } = await import('../src/webhooks/verify-signature.js');
    const { readDeliveryHeaders, deliveryKey } = await import('../src/webhooks/delivery-headers.js');
    const { normalizeWebhook } = await import('../src/webhooks/normalize-webhook.js');
    const app = Fastify({ loggerInstance: pino({ level: 'info' }, sink) });
    app.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: 25 * 1024 * 1024 },
      (_r, b, done) => done(null, b),
    );
    app.post(PATH, async (request, reply) => {
      const headers = readDeliveryHeaders(request.headers);
      const header = request.headers['x-hub-signature-256'] as string | undefined;
      if (!verifySignature([SECRET], request.body as Buffer, header)) return reply.code(401).send();
      const payload = JSON.parse((request.body as Buffer).toString('utf8')) as Record<string, unknown>;
      const job = normalizeWebhook({ ...headers, receivedAt: new Date() }, payload);
      return reply.code(202).send({ ok: true, jobId: deliveryKey(headers), event: job.event });
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
    [...process.execArgv, ...PROFILE_ARGS, fileURLToPath(import.meta.url), '--serve', kind],
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

function rssMb(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}

interface Row {
  kind: Kind;
  rps: number[];
  p99: number[];
  fixedP99: number;
  idleRss: number;
  fixedRss: number;
  errors: number;
}

async function runAll(body: string, signature: string, appendOnly: boolean): Promise<Row[]> {
  const prefix = `bench-${randomUUID()}`;
  const { startEmbeddedRedis } = await import('../src/redis/embedded-redis.js');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'shipgate-bench-'));
  const embedded = await startEmbeddedRedis({ dataDir, appendOnly });
  REDIS_URL = embedded.url;
  const servers = new Map<Kind, ChildProcess>();
  const urls = new Map<Kind, string>();
  const rows = new Map<Kind, Row>();
  try {
    for (const kind of KINDS) {
      const { url, child } = await startChild(kind, { BENCH_PREFIX: prefix, BENCH_REDIS_URL: REDIS_URL });
      servers.set(kind, child);
      urls.set(kind, url);
      await new Promise((r) => setTimeout(r, 500));
      rows.set(kind, { kind, rps: [], p99: [], fixedP99: 0, idleRss: rssMb(child), fixedRss: 0, errors: 0 });
      await load(url, body, signature, WARMUP_S);
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of KINDS) {
        const r = await load(urls.get(kind)!, body, signature, DURATION_S);
        const row = rows.get(kind)!;
        row.rps.push(r.requests.average);
        row.p99.push(r.latency.p99);
        row.errors += r.non2xx + r.errors + r.timeouts;
      }
    }
    for (const kind of KINDS) {
      const row = rows.get(kind)!;
      let peak = 0;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMb(servers.get(kind)!))), 250);
      const fixed = await load(urls.get(kind)!, body, signature, FIXED_S, FIXED_RATE);
      clearInterval(sampler);
      row.fixedP99 = fixed.latency.p99;
      row.fixedRss = peak;
      row.errors += fixed.non2xx + fixed.errors + fixed.timeouts;
    }
  } finally {
    for (const child of servers.values()) child.kill('SIGTERM');
    const { Redis } = await import('ioredis');
    const redis = new Redis(REDIS_URL);
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    await embedded.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return KINDS.map((k) => rows.get(k)!);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function print(rows: Row[], redis: string): void {
  const rps = (k: Kind) => {
    const row = rows.find((r) => r.kind === k);
    return row === undefined ? Number.NaN : median(row.rps);
  };
  const names: Record<Kind, string> = {
    fastify: 'bare fastify (reads the body, 202)',
    probot: 'Probot 14, no-op handler, persists nothing',
    'verify-add': 'plain verify + one BullMQ add',
    'checks-only': "Shipgate's checks and validation, no enqueue",
    shipgate: 'Shipgate ingress',
  };
  console.log(`\nRedis: ${redis}`);
  console.log(
    '| target | req/s (median of rounds) | rounds | p99 ms | ÷ bare fastify | ÷ Probot | p99 ms @ 500 req/s | RSS idle MB | RSS @ 500 req/s MB | errors |',
  );
  console.log('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${names[r.kind]} | ${Math.round(rps(r.kind))} | ${r.rps.map(Math.round).join(' / ')} | ${median(r.p99)} | ` +
        `${(rps(r.kind) / rps('fastify')).toFixed(2)} | ${(rps(r.kind) / rps('probot')).toFixed(2)} | ` +
        `${r.fixedP99} | ${r.idleRss.toFixed(0)} | ${r.fixedRss.toFixed(0)} | ${r.errors} |`,
    );
  }
}

async function main(): Promise<void> {
  // GitHub's documented tag push (test/fixtures, with provenance), as sent: 7,859 bytes.
  const body = readFileSync(
    fileURLToPath(new URL('../test/fixtures/github/push-tag-created.docs-example.json', import.meta.url)),
    'utf8',
  );
  const signature = await sign(SECRET, body);
  console.log(
    `machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(
    `load: ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds × ${DURATION_S} s after ${WARMUP_S} s warm-up; body ${body.length} bytes`,
  );
  // BENCH_REDIS_MODES=none measures only the compiled `shipgate serve` below.
  const modes = (process.env.BENCH_REDIS_MODES ?? 'aof,noaof').split(',').filter((m) => m !== 'none');
  for (const mode of modes) {
    const rows = await runAll(body, signature, mode === 'aof');
    print(
      rows,
      mode === 'aof'
        ? 'own redis-server, AOF everysec (as shipgate start runs it)'
        : 'own redis-server, appendonly no',
    );
  }
  const production = await productionServe(body, signature);
  if (production === undefined) {
    console.log('\n`node dist/src/cli.js serve`: skipped (run `npm run build` first)');
    return;
  }
  const p = production;
  console.log(
    `\n\`node ${[...p.flags, 'dist/src/cli.js serve'].join(' ')}\` (production entry, compiled; ${p.node}, AOF everysec):` +
      `\nRSS idle ${p.idleRss.toFixed(0)} MB 2 s after listening, ${p.settledRss.toFixed(0)} MB after ${SETTLE_S} s; at ${FIXED_RATE} req/s: p99 ${p.fixedP99} ms, RSS ${p.fixedRss.toFixed(0)} MB;` +
      ` ${CONNECTIONS} connections: ${p.rps.toFixed(0)} req/s, p99 ${p.p99} ms, RSS ${p.peakRss.toFixed(0)} MB; errors ${p.errors}`,
  );
}

interface ProductionFigures {
  node: string;
  flags: string[];
  idleRss: number;
  /** RSS after the server has stood idle for `SETTLE_S` (Node 20's memory reducer runs by then). */
  settledRss: number;
  fixedRss: number;
  fixedP99: number;
  rps: number;
  p99: number;
  peakRss: number;
  errors: number;
}

/** Seconds the production entry stands idle before its settled RSS is read. */
const SETTLE_S = 15;

/**
 * Shipgate as production runs it: the compiled `shipgate serve` (`node dist/src/cli.js serve`,
 * the Dockerfile's entry), not the benchmark's tsx child, whose loader alone adds about 45 MB.
 * Idle RSS 2 s after it listens and again once it has stood idle `SETTLE_S`, then (after a
 * warm-up) peak RSS and p99 at the fixed 500 req/s, then throughput and peak RSS with the usual connections. BENCH_SERVE_NODE runs it on another
 * `node` binary (Node 24, say); BENCH_SERVE_NODE_FLAGS adds flags (`--max-semi-space-size=4`).
 * Undefined when `dist/` is not built.
 */
async function productionServe(body: string, signature: string): Promise<ProductionFigures | undefined> {
  const cli = fileURLToPath(new URL('../dist/src/cli.js', import.meta.url));
  if (!existsSync(cli)) return undefined;
  const node = process.env.BENCH_SERVE_NODE ?? process.execPath;
  const flags = (process.env.BENCH_SERVE_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const { startEmbeddedRedis } = await import('../src/redis/embedded-redis.js');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'shipgate-bench-'));
  const embedded = await startEmbeddedRedis({ dataDir, appendOnly: true });
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const keyPath = path.join(dataDir, 'app.pem');
  writeFileSync(keyPath, privateKey, { mode: 0o600 });
  const child = spawn(node, [...flags, cli, 'serve'], {
    cwd: dataDir,
    env: {
      PATH: process.env.PATH ?? '',
      GITHUB_WEBHOOK_SECRET: SECRET,
      GITHUB_APP_ID: '1',
      GITHUB_PRIVATE_KEY_PATH: keyPath,
      REDIS_URL: embedded.url,
      PORT: '0',
      HOST: '127.0.0.1',
      SHIPGATE_DATA_DIR: dataDir,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const onData = (c: Buffer) => {
        out += c.toString();
        const listening = /Server listening at (http:\/\/[\d.:]+)/.exec(out);
        if (listening) {
          child.stdout!.off('data', onData);
          child.stdout!.resume();
          resolve(listening[1]!);
        }
      };
      child.stdout!.on('data', onData);
      child.once('exit', (code) =>
        reject(new Error(`shipgate serve exited with ${code}: ${out.slice(-500)}`)),
      );
    });
    await new Promise((r) => setTimeout(r, 2000));
    const idleRss = rssMb(child);
    await new Promise((r) => setTimeout(r, (SETTLE_S - 2) * 1000));
    const settledRss = rssMb(child);
    const sample = async (run: () => Promise<Result>) => {
      let peak = 0;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMb(child))), 250);
      try {
        return { result: await run(), peak };
      } finally {
        clearInterval(sampler);
      }
    };
    await load(url, body, signature, WARMUP_S, FIXED_RATE);
    const fixed = await sample(() => load(url, body, signature, FIXED_S, FIXED_RATE));
    const full = await sample(() => load(url, body, signature, DURATION_S));
    const failed = (r: Result) => r.non2xx + r.errors + r.timeouts;
    return {
      node: execFileSync(node, ['--version'], { encoding: 'utf8' }).trim(),
      flags,
      idleRss,
      settledRss,
      fixedRss: fixed.peak,
      fixedP99: fixed.result.latency.p99,
      rps: full.result.requests.average,
      p99: full.result.latency.p99,
      peakRss: full.peak,
      errors: failed(fixed.result) + failed(full.result),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await embedded.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
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
