import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../support/fixtures.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis.js';
import { postDelivery, signedDelivery } from '../support/sign-webhook.js';
import { SECRET, startIngress } from '../integration/ingress/ingress-harness.js';

const push = JSON.parse(
  readFileSync(`${FIXTURES}/github/push-tag-created.docs-example.json`, 'utf8'),
) as Record<string, unknown>;
const WRONG_SIGNATURE = `sha256=${'0'.repeat(64)}`;

interface Child {
  url: string;
  port: number;
  process: ChildProcess;
  /** Resident and peak resident memory of the server process, from /proc. */
  memory(): { rssMb: number; peakMb: number };
  /** How many connections the server holds (its `getConnections`, asked with SIGUSR2). */
  connections(): Promise<number>;
}

/** The real server in its own process, so its memory is its own (test/load/serve-child.ts). */
async function startChild(prefix: string, timeouts: Record<string, number> = {}): Promise<Child> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'serve-child.ts')],
    {
      env: {
        PATH: process.env.PATH,
        REDIS_URL: TEST_REDIS_URL,
        SHIPGATE_QUEUE_PREFIX: prefix,
        GITHUB_WEBHOOK_SECRET: SECRET,
        LOG_LEVEL: 'warn',
        CHILD_TIMEOUTS: JSON.stringify(timeouts),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /LISTENING (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const status = () => readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status())?.[1]);
  return {
    url,
    port: Number(new URL(url).port),
    process: child,
    memory: () => ({ rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 }),
    connections: async () => {
      const answersBefore = out.split('CONNECTIONS').length;
      child.kill('SIGUSR2');
      while (out.split('CONNECTIONS').length === answersBefore) {
        await new Promise((r) => setTimeout(r, 10));
      }
      return Number(/CONNECTIONS (\d+)\n$/.exec(out)?.[1]);
    },
  };
}

async function stopChild(child: Child): Promise<void> {
  const exited = new Promise((r) => child.process.once('exit', r));
  child.process.kill('SIGTERM');
  await exited;
}

/** Runs test/load/attacker.ts; resolves `started` when the attack is under way, `done` with its output. */
function attack(mode: 'upload' | 'slow', port: number, count: number) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'attacker.ts'), mode, String(port), String(count)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  let onStart: () => void;
  const started = new Promise<void>((r) => (onStart = r));
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (out.includes('STARTED')) onStart();
  });
  const done = new Promise<string>((resolve) => child.once('exit', () => resolve(out)));
  return { started, done };
}

async function timedDelivery(baseUrl: string): Promise<{ status: number; ms: number }> {
  const d = await signedDelivery({ secret: SECRET, event: 'push', payload: push });
  const started = performance.now();
  const res = await postDelivery(baseUrl, d);
  return { status: res.status, ms: performance.now() - started };
}

describe('a server that holds (real server in a child process)', () => {
  const prefix = uniquePrefix('holds');
  afterAll(() => deleteKeysWithPrefix(prefix));

  it('150 parallel unsigned 24 MB uploads: RSS stays under 400 MB and a valid delivery is answered within 1 s', async () => {
    const child = await startChild(prefix);
    try {
      expect((await timedDelivery(child.url)).status).toBe(202);
      const flood = attack('upload', child.port, 150);
      await flood.started;
      await new Promise((r) => setTimeout(r, 100));
      const valid = await timedDelivery(child.url);
      const statuses = JSON.parse(/STATUSES (.*)/.exec(await flood.done)![1]!) as number[];
      const { peakMb } = child.memory();
      console.warn(
        `peak RSS ${peakMb.toFixed(0)} MB; valid delivery ${valid.ms.toFixed(0)} ms`,
        count(statuses),
      );
      expect(valid.status).toBe(202);
      expect(valid.ms).toBeLessThan(1000);
      expect(peakMb).toBeLessThan(400);
      // Most were refused before their body was read; none was accepted.
      // A refusal reaches the client as a 503, or, when the server closed the socket while the
      // client was still writing its 24 MB, as a reset (status 0): either way, not read.
      expect(statuses.filter((s) => s === 503 || s === 0).length).toBeGreaterThan(100);
      expect(statuses.filter((s) => s >= 200 && s < 300)).toHaveLength(0);
    } finally {
      await stopChild(child);
    }
  });

  it('2,000 slow connections are closed by the timeouts while a valid delivery is still answered', async () => {
    const child = await startChild(prefix, {
      headersMs: 2000,
      requestMs: 4000,
      idleMs: 2000,
      keepAliveMs: 2000,
    });
    try {
      const slow = attack('slow', child.port, 2000);
      await slow.started;
      // Let the server take in the burst (this is about connections held open, not a SYN flood).
      await new Promise((r) => setTimeout(r, 1000));
      // Five deliveries one after another, judged by their median: one figure on a shared 2-core
      // box can be a scheduling hiccup (the attacker's 2,000 sockets run on the same cores).
      const valid: { status: number; ms: number }[] = [];
      for (let i = 0; i < 5; i++) valid.push(await timedDelivery(child.url));
      const ms = valid.map((v) => v.ms).sort((a, b) => a - b);
      console.warn(
        `valid deliveries ${ms.map((m) => m.toFixed(0)).join(', ')} ms while 2,000 slow connections were held`,
      );
      expect(valid.map((v) => v.status)).toEqual([202, 202, 202, 202, 202]);
      expect(ms[2]).toBeLessThan(1000);
      // The timeouts empty the server while the attacker still holds its end (it waits up to 30 s
      // for the closes): once the attacker exits, its sockets would close on their own.
      let held = await child.connections();
      for (const until = Date.now() + 20_000; held > 0 && Date.now() < until;) {
        await new Promise((r) => setTimeout(r, 250));
        held = await child.connections();
      }
      expect(held).toBe(0);
      // And the attack reached the server: the attacker saw the server close its sockets. Not
      // necessarily all 2,000: on a starved machine the kernel can answer part of the burst with
      // SYN cookies while the accept queue is full, and a socket that then says nothing is never
      // handed to the server at all (it costs the server nothing).
      const closed = Number(/CLOSED (\d+)/.exec(await slow.done)?.[1]);
      expect(closed).toBeGreaterThanOrEqual(1900);
    } finally {
      await stopChild(child);
    }
  });
});

describe('aborted uploads', () => {
  let ingress: Awaited<ReturnType<typeof startIngress>>;
  beforeAll(async () => {
    ingress = await startIngress();
  });
  afterAll(() => ingress.close());

  it('2,000 uploads cut off mid-body add under 200 KB of log, and no stack', async () => {
    const port = Number(new URL(ingress.baseUrl).port);
    const before = ingress.log.bytes;
    const abortOne = () =>
      new Promise<void>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.write(
            'POST /webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
              `X-GitHub-Event: push\r\nX-GitHub-Delivery: ${crypto.randomUUID()}\r\n` +
              `X-Hub-Signature-256: ${WRONG_SIGNATURE}\r\nContent-Length: 100000\r\n\r\n` +
              '{"ref":"' +
              'x'.repeat(2000),
            () => setTimeout(() => socket.destroy(), 5),
          );
        });
        socket.on('error', () => {});
        socket.on('close', () => resolve());
      });
    for (let i = 0; i < 2000; i += 100) await Promise.all(Array.from({ length: 100 }, abortOne));
    await new Promise((r) => setTimeout(r, 500));
    const grown = ingress.log.bytes - before;
    console.warn(`log grew ${grown} bytes for 2,000 aborted uploads`);
    expect(grown).toBeLessThan(200 * 1024);
    expect(ingress.log.text()).not.toMatch(/"stack"/);
    expect((await timedDelivery(ingress.baseUrl)).status).toBe(202);
  });
});

function count(values: number[]): Record<number, number> {
  const out: Record<number, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
