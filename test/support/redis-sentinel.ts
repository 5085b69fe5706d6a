import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/redis/embedded-redis.js';
import { askRedis, killRedis, spawnRedis, waitFor } from './redis-processes.js';

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

export async function startRedisSentinel(masterName = 'shipgate-primary'): Promise<TestRedisSentinel> {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-sentinel-'));
  const password = randomBytes(18).toString('base64url');
  const primaryPort = await freePort();
  const sentinelPort = await freePort();
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map(killRedis));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    children.push(
      spawnRedis([
        ...['--port', String(primaryPort), '--bind', '127.0.0.1', '--dir', dir, '--save', ''],
        ...['--requirepass', password],
      ]),
    );
    await waitFor(
      async () => (await askRedis(primaryPort, password, (r) => r.ping())) === 'PONG',
      'redis sentinel: primary up',
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
    children.push(spawnRedis([conf, '--sentinel']));
    await waitFor(
      async () =>
        (
          (await askRedis(sentinelPort, undefined, (r) =>
            r.call('SENTINEL', 'get-master-addr-by-name', masterName),
          )) as string[] | null
        )?.[1] === String(primaryPort),
      'redis sentinel: the Sentinel knows the primary',
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
