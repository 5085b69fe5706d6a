import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/redis/embedded-redis.js';

/**
 * A redis-server primary (with a password) watched by one Sentinel (`redis-server --sentinel`),
 * both on free loopback ports, for tests of `redis+sentinel://`.
 */
export interface TestRedisSentinel {
  /** `redis+sentinel://:<password>@127.0.0.1:<sentinel port>/<master name>` */
  url: string;
  masterName: string;
  primaryPort: number;
  stop(): Promise<void>;
}

async function waitFor(probe: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`redis sentinel: ${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function ask<T>(port: number, password: string | undefined, fn: (r: Redis) => Promise<T>): Promise<T> {
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

export async function startRedisSentinel(masterName = 'shipgate-primary'): Promise<TestRedisSentinel> {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-sentinel-'));
  const password = randomBytes(18).toString('base64url');
  const primaryPort = await freePort();
  const sentinelPort = await freePort();
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    children.push(
      spawn(
        'redis-server',
        [
          '--port',
          String(primaryPort),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--save',
          '',
          '--requirepass',
          password,
        ],
        { stdio: 'ignore' },
      ),
    );
    await waitFor(
      async () => (await ask(primaryPort, password, (r) => r.ping())) === 'PONG',
      'primary up',
      10_000,
    );
    // Sentinel rewrites its config file, so it must be a file of its own.
    const conf = path.join(dir, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${sentinelPort}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${primaryPort} 1`,
        `sentinel auth-pass ${masterName} ${password}`,
        `sentinel down-after-milliseconds ${masterName} 5000`,
        '',
      ].join('\n'),
    );
    children.push(spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' }));
    await waitFor(
      async () =>
        (
          (await ask(sentinelPort, undefined, (r) =>
            r.call('SENTINEL', 'get-master-addr-by-name', masterName),
          )) as string[] | null
        )?.[1] === String(primaryPort),
      'sentinel knows the primary',
      10_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url: `redis+sentinel://:${password}@127.0.0.1:${sentinelPort}/${masterName}`,
    masterName,
    primaryPort,
    stop,
  };
}
