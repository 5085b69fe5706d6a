import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

/**
 * What the test clusters and Sentinels share (test/support/redis-cluster.ts,
 * test/support/redis-sentinel.ts): redis-server children on loopback, a one-shot question to
 * one of them, a poll until something holds, and a stop that waits for every child to exit.
 */

/** The redis-server children of one test cluster or Sentinel, by port, in a temp dir of their own. */
export interface RedisGroup {
  /** The group's temp dir; each server's files go in a folder of it. */
  dir: string;
  /** Starts a redis-server with `args`, known from now on by `port`. */
  spawn(port: number, args: string[]): void;
  /** SIGKILLs the server on `port` and waits for it to exit. */
  kill(port: number): Promise<void>;
  /** Kills every server, waits for them to exit, and removes the temp dir. */
  stop(): Promise<void>;
}

/** An empty group in a new temp dir named `<dirPrefix>XXXXXX`. */
export function redisGroup(dirPrefix: string): RedisGroup {
  const dir = mkdtempSync(path.join(tmpdir(), dirPrefix));
  const children = new Map<number, ChildProcess>();
  return {
    dir,
    spawn(port, args) {
      children.set(port, spawnRedis(args));
    },
    async kill(port) {
      const child = children.get(port);
      if (child !== undefined) await killRedis(child);
    },
    async stop() {
      await Promise.all([...children.values()].map(killRedis));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A redis-server child with these arguments (a config file first, or flags only). */
export function spawnRedis(args: string[]): ChildProcess {
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr?.resume();
  return child;
}

/** Polls `probe` every 100 ms until it is true; a probe that throws counts as false. */
export async function waitFor(probe: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls until the server on `port` answers PING. */
export function waitForPong(port: number, password: string | undefined, what: string, timeoutMs: number) {
  return waitFor(async () => (await askRedis(port, password, (r) => r.ping())) === 'PONG', what, timeoutMs);
}

/** One plain connection to one server (never a cluster client), for set-up and checks. */
export async function askRedis<T>(
  port: number,
  password: string | undefined,
  fn: (r: Redis) => Promise<T>,
): Promise<T> {
  const redis = new Redis({
    port,
    host: '127.0.0.1',
    ...(password ? { password } : {}),
    lazyConnect: true,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

/** SIGKILLs a child and resolves once it has exited (at once if it already has). */
export function killRedis(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
