/**
 * Global setup of `npm run test:cluster`: the usual tool check, then a real three-primary
 * Redis Cluster on free ports that every test's Redis helper (test/support/redis.ts) connects
 * to, through `redis+cluster://` like a production install would.
 */
import { spawnSync } from 'node:child_process';
import { startRedisCluster } from './redis-cluster.js';

export default async function setup(): Promise<() => Promise<void>> {
  for (const tool of ['redis-server', 'redis-cli']) {
    const res = spawnSync(tool, ['--version'], { stdio: 'ignore' });
    if (res.error !== undefined || res.status !== 0) {
      process.stderr.write(`\nmissing ${tool}: apt-get install redis-server (it brings redis-tools)\n\n`);
      process.exit(1);
    }
  }
  const started = Date.now();
  const cluster = await startRedisCluster();
  process.stderr.write(
    `redis cluster of 3 primaries up in ${Date.now() - started} ms (ports ${cluster.ports.join(', ')})\n`,
  );
  // Read by test/support/redis.ts in every test process (forks inherit this environment).
  process.env.TEST_REDIS_URL = cluster.url;
  process.env.SHIPGATE_TEST_REDIS = 'cluster';
  return () => cluster.stop();
}
