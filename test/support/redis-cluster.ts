import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/redis/embedded-redis.js';
import { askRedis, redisGroup, waitFor, waitForPong } from './redis-processes.js';

/**
 * A real Redis Cluster of three primaries (and, when asked, one replica each) on free loopback
 * ports, each node a redis-server child in its own temp dir, joined by
 * `redis-cli --cluster create`. With a password on every node (requirepass + masterauth), as a
 * managed cluster has. For the `npm run test:cluster` suite (test/support/cluster-global-setup.ts)
 * and the tests that need their own cluster (the failover test).
 */
export interface TestRedisCluster {
  /** `redis+cluster://:<password>@127.0.0.1:<port of the first node>`. */
  url: string;
  password: string;
  /** Every node's port, primaries first as created (roles change on failover). */
  ports: number[];
  /** SIGKILLs the node on `port` and waits for it to exit. */
  kill(port: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StartRedisClusterOptions {
  /** Replicas per primary (0 or 1 here). @defaultValue 0 */
  replicas?: number;
  /**
   * How long a node may be unreachable before the others count it failed (and a replica takes
   * over). @defaultValue 2000
   */
  nodeTimeoutMs?: number;
}

function nodeArgs(dir: string, port: number, busPort: number, password: string, nodeTimeoutMs: number) {
  return [
    ...['--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1'],
    ...['--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, 'nodes.conf')],
    ...['--cluster-node-timeout', String(nodeTimeoutMs), '--dir', dir, '--save', '', '--appendonly', 'no'],
    ...['--requirepass', password, '--masterauth', password, '--maxmemory-policy', 'noeviction'],
  ];
}

/** True when this node sees the cluster whole: state ok and all 16384 slots served. */
async function converged(port: number, password: string): Promise<boolean> {
  const info = await askRedis(port, password, (r) => r.cluster('INFO'));
  return /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info);
}

export async function startRedisCluster(options: StartRedisClusterOptions = {}): Promise<TestRedisCluster> {
  const replicas = options.replicas ?? 0;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 2000;
  const nodes = redisGroup('shipgate-cluster-');
  const password = randomBytes(18).toString('base64url');
  const ports: number[] = [];
  try {
    for (let i = 0; i < 3 * (1 + replicas); i += 1) {
      const dir = path.join(nodes.dir, `node-${i}`);
      mkdirSync(dir);
      const port = await freePort();
      const busPort = await freePort();
      ports.push(port);
      nodes.spawn(port, nodeArgs(dir, port, busPort, password, nodeTimeoutMs));
    }
    for (const port of ports) {
      await waitForPong(port, password, `redis cluster: node ${port} up`, 10_000);
    }
    const create = spawnSync(
      'redis-cli',
      [
        ...['-a', password, '--no-auth-warning', '--cluster', 'create'],
        ...ports.map((p) => `127.0.0.1:${p}`),
        ...['--cluster-replicas', String(replicas), '--cluster-yes'],
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    // Every node must agree the cluster is whole before slots are served everywhere.
    for (const port of ports) {
      await waitFor(() => converged(port, password), `redis cluster: cluster_state:ok on ${port}`, 20_000);
    }
    // A replica that never synced cannot take over (its data counts as too old): wait until
    // each one's link to its primary is up.
    for (const port of ports) {
      await waitFor(
        async () => {
          const role = (await askRedis(port, password, (r) => r.call('ROLE'))) as unknown[];
          return role[0] === 'master' || role[3] === 'connected';
        },
        `redis cluster: replica ${port} in sync`,
        20_000,
      );
    }
  } catch (err) {
    await nodes.stop();
    throw err;
  }
  return {
    url: `redis+cluster://:${password}@127.0.0.1:${ports[0]}`,
    password,
    ports,
    kill: nodes.kill,
    stop: nodes.stop,
  };
}
