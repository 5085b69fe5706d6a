import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/redis/embedded-redis.js';

/**
 * A real Redis Cluster of three primaries (no replicas) on free loopback ports, each node a
 * redis-server child in its own temp dir, joined by `redis-cli --cluster create`. With a
 * password on every node (requirepass + masterauth), as a managed cluster has. For the
 * `npm run test:cluster` suite (test/support/cluster-global-setup.ts) and the tests that need
 * their own cluster.
 */
export interface TestRedisCluster {
  /** `redis+cluster://:<password>@127.0.0.1:<port of the first node>`. */
  url: string;
  password: string;
  ports: number[];
  stop(): Promise<void>;
}

async function spawnNode(
  dir: string,
  port: number,
  busPort: number,
  password: string,
): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--cluster-port',
      String(busPort),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      path.join(dir, 'nodes.conf'),
      '--cluster-node-timeout',
      '2000',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--requirepass',
      password,
      '--masterauth',
      password,
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr?.resume();
  return child;
}

async function waitFor(probe: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`redis cluster: ${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function onNode<T>(port: number, password: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({
    port,
    host: '127.0.0.1',
    password,
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

export async function startRedisCluster(): Promise<TestRedisCluster> {
  const root = mkdtempSync(path.join(tmpdir(), 'shipgate-cluster-'));
  const password = randomBytes(18).toString('base64url');
  const ports: number[] = [];
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
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < 3; i += 1) {
      const dir = path.join(root, `node-${i}`);
      mkdirSync(dir);
      const port = await freePort();
      const busPort = await freePort();
      ports.push(port);
      children.push(await spawnNode(dir, port, busPort, password));
    }
    for (const port of ports) {
      await waitFor(
        async () => (await onNode(port, password, (r) => r.ping())) === 'PONG',
        `node ${port} up`,
        10_000,
      );
    }
    const create = spawnSync(
      'redis-cli',
      [
        '-a',
        password,
        '--no-auth-warning',
        '--cluster',
        'create',
        ...ports.map((p) => `127.0.0.1:${p}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    // Every node must agree the cluster is whole before slots are served everywhere.
    for (const port of ports) {
      await waitFor(
        async () => /cluster_state:ok/.test(await onNode(port, password, (r) => r.cluster('INFO'))),
        `cluster_state:ok on ${port}`,
        20_000,
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis+cluster://:${password}@127.0.0.1:${ports[0]}`, password, ports, stop };
}
