import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/redis/embedded-redis.js';
import { askRedis, redisGroup, waitFor, waitForPong } from './redis-processes.js';

/**
 * A redis-server primary (with a password) watched by one Sentinel (`redis-server --sentinel`),
 * both on free loopback ports, for tests of `redis+sentinel://`.
 */
export interface TestRedisSentinel {
  /** `redis+sentinel://:<password>@127.0.0.1:<sentinel port>/<master name>` */
  url: string;
  masterName: string;
  primaryPort: number;
  /** The replica's port, when one was asked for. */
  replicaPort: number | undefined;
  /** The port of the server the Sentinel names primary now. */
  currentPrimary(): Promise<number>;
  /** SIGKILLs the server on `port` and waits for it to exit. */
  kill(port: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartRedisSentinelOptions {
  /** Adds one replica, which the Sentinel promotes when the primary is down. @defaultValue false */
  replica?: boolean;
  /** How long the primary may not answer before the Sentinel counts it down. @defaultValue 5000 */
  downAfterMs?: number;
}

export async function startRedisSentinel(
  masterName = 'shipgate-primary',
  options: StartRedisSentinelOptions = {},
): Promise<TestRedisSentinel> {
  const servers = redisGroup('shipgate-sentinel-');
  const { dir } = servers;
  const password = randomBytes(18).toString('base64url');
  const primaryPort = await freePort();
  const sentinelPort = await freePort();
  const replicaPort = options.replica === true ? await freePort() : undefined;
  try {
    // Each server its own dir: a promoted replica rewrites nothing, but RDB transfers land there.
    for (const port of [primaryPort, ...(replicaPort === undefined ? [] : [replicaPort])]) {
      const own = path.join(dir, String(port));
      mkdirSync(own);
      servers.spawn(port, [
        ...['--port', String(port), '--bind', '127.0.0.1', '--dir', own, '--save', ''],
        ...['--requirepass', password, '--masterauth', password],
        ...(port === replicaPort ? ['--replicaof', '127.0.0.1', String(primaryPort)] : []),
      ]);
    }
    await waitForPong(primaryPort, password, 'redis sentinel: primary up', 10_000);
    if (replicaPort !== undefined) {
      await waitFor(
        async () =>
          ((await askRedis(replicaPort, password, (r) => r.call('ROLE'))) as unknown[])[3] === 'connected',
        'redis sentinel: replica in sync',
        10_000,
      );
    }
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
        `sentinel down-after-milliseconds ${masterName} ${options.downAfterMs ?? 5000}`,
        `sentinel failover-timeout ${masterName} 10000`,
        '',
      ].join('\n'),
    );
    servers.spawn(sentinelPort, [conf, '--sentinel']);
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
    await servers.stop();
    throw err;
  }
  return {
    url: `redis+sentinel://:${password}@127.0.0.1:${sentinelPort}/${masterName}`,
    masterName,
    primaryPort,
    replicaPort,
    async currentPrimary() {
      const addr = (await askRedis(sentinelPort, undefined, (r) =>
        r.call('SENTINEL', 'get-master-addr-by-name', masterName),
      )) as string[];
      return Number(addr[1]);
    },
    kill: servers.kill,
    stop: servers.stop,
  };
}
