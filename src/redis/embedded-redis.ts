import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { RedisNotInstalled, RedisStartFailed } from '../errors.js';
import type { Logger } from '../logger.js';
import { untilAborted } from '../retry/until-aborted.js';

export interface EmbeddedRedisOptions {
  /** Data lives in `<dataDir>/redis` (AOF and RDB files). */
  dataDir: string;
  logger?: Logger;
  /** @defaultValue a free loopback port */
  port?: number;
  /** @defaultValue `redis-server` from PATH */
  command?: string;
  /** @defaultValue 10000 */
  startTimeoutMs?: number;
  /** AOF on (the default) is what makes queued webhooks survive a restart. */
  appendOnly?: boolean;
  /**
   * The `requirepass`; a restart that must keep its clients' URL (a fault test) passes the
   * previous one.
   * @defaultValue 32 fresh random bytes
   */
  password?: string;
}

export interface EmbeddedRedis {
  /** `redis://:<password>@127.0.0.1:<port>`: for Shipgate only, never for a gate or a log. */
  url: string;
  port: number;
  pid: number | undefined;
  /** SIGTERM (Redis flushes the AOF and exits), then SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

const URL_FILE = 'shipgate-redis.url';

/** The URL of the embedded Redis a running `shipgate start` wrote under `dataDir`, if any. */
export function embeddedRedisUrl(dataDir: string): string | undefined {
  try {
    const url = readFileSync(path.join(dataDir, 'redis', URL_FILE), 'utf8').trim();
    return /^redis:\/\/(:[A-Za-z0-9_-]+@)?127\.0\.0\.1:\d+$/.test(url) ? url : undefined;
  } catch {
    return undefined;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPong(url: string, child: ChildProcess, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw RedisStartFailed(`redis-server exited with code ${child.exitCode}`);
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch {
      // not up yet
    } finally {
      probe.disconnect();
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw RedisStartFailed('no answer to PING in time');
}

/**
 * Starts a `redis-server` child for `shipgate start` when REDIS_URL is unset: loopback only,
 * a fresh random password (`requirepass`, given on stdin so no `ps` shows it; a gate with
 * egress can reach the port but cannot authenticate),
 * AOF on, `maxmemory-policy noeviction` (BullMQ must never lose jobs to eviction), data under
 * the working folder. The child is killed if this process exits without stopping it.
 */
export async function startEmbeddedRedis(options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  const dir = path.join(options.dataDir, 'redis');
  // Only the Redis folder is private. A recursive mkdir would give 0700 to every folder it
  // creates, the data dir included, and sandboxed gates (another uid) could then not reach their
  // checkouts below it: after one `shipgate start`, the demo's gates all failed.
  mkdirSync(options.dataDir, { recursive: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const port = options.port ?? (await freePort());
  const password = options.password ?? randomBytes(32).toString('base64url');
  const url = `redis://:${password}@127.0.0.1:${port}`;
  // `-` reads the configuration from stdin, then the flags override it.
  const args = [
    '-',
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--protected-mode', 'yes',
    '--dir', dir,
    '--appendonly', options.appendOnly === false ? 'no' : 'yes',
    '--appendfsync', 'everysec',
    '--maxmemory-policy', 'noeviction',
    '--daemonize', 'no',
    '--save', '3600 1 300 100 60 10000',
  ]; // prettier-ignore
  const child = spawn(options.command ?? 'redis-server', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(`requirepass "${password}"\n`);
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'ENOENT' ? RedisNotInstalled({ cause: err }) : RedisStartFailed(err.message)),
    );
  });
  let output = '';
  const collect = (chunk: Buffer) => {
    // Keep the tail only: it is shown if the start fails.
    output = (output + chunk.toString('utf8')).slice(-2000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  try {
    await spawned;
    await waitForPong(url, child, Date.now() + (options.startTimeoutMs ?? 10_000));
  } catch (err) {
    child.kill('SIGKILL');
    process.off('exit', killOnExit);
    if (RedisNotInstalled.is(err)) throw err;
    const tail = output.trim().split('\n').slice(-3).join(' | ');
    throw RedisStartFailed(`${(err as Error).message}${tail ? `: ${tail}` : ''}`, { cause: err });
  }
  options.logger?.info({ port, dir, pid: child.pid }, 'embedded redis-server started');
  // Lets one-off commands (`shipgate redeliver`) find the running embedded Redis. Owner-only:
  // the file holds the password.
  const urlFile = path.join(dir, URL_FILE);
  writeFileSync(urlFile, `${url}\n`, { mode: 0o600 });

  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    url,
    port,
    pid: child.pid,
    async stop(timeoutMs = 5000) {
      process.off('exit', killOnExit);
      rmSync(urlFile, { force: true });
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      // Past the timeout, SIGKILL: the wait itself is what the deadline ends.
      const timedOut = await untilAborted(exited, AbortSignal.timeout(timeoutMs)).then(
        () => false,
        () => true,
      );
      if (timedOut) {
        child.kill('SIGKILL');
        await exited;
      }
      options.logger?.info({ port }, 'embedded redis-server stopped');
    },
  };
}
