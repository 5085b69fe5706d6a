import { describe, expect, it } from 'vitest';
import { bullmqPrefix } from '../../../src/queue/bullmq-prefix.js';
import { TEST_REDIS_IS_CLUSTER, uniquePrefix } from '../../support/redis.js';
import { startRedisCluster } from '../../support/redis-cluster.js';
import { askRedis } from '../../support/redis-processes.js';
import {
  enqueueThroughFailover,
  expectOutageFeltAndBounded,
  expectRedeliveredNothingLost,
  openWebhookQueue,
} from './enqueue-through-failover.js';

/** The port of the primary serving `slot`, from one node's CLUSTER SLOTS. */
async function primaryOf(slot: number, port: number, password: string): Promise<number> {
  const ranges = await askRedis(port, password, (r) => r.cluster('SLOTS'));
  const range = ranges.find(([from, to]) => slot >= from && slot <= to);
  if (range?.[2] === undefined) throw new Error(`slot ${slot} is not served`);
  return Number(range[2][1]);
}

// Its own cluster, with a replica per primary: the suite's shared one has none, and killing one
// of its primaries would take every other test down with it.
describe.skipIf(!TEST_REDIS_IS_CLUSTER)('a cluster primary killed mid-stream (npm run test:cluster)', () => {
  it('webhook enqueues answer 503 while its replica takes over, then resume; nothing accepted is lost', async () => {
    const cluster = await startRedisCluster({ replicas: 1 });
    const prefix = uniquePrefix('failover');
    try {
      const webhooks = await openWebhookQueue(cluster.url, prefix);
      try {
        // Every queue key shares the `{prefix}` tag, so one primary carries the whole queue.
        const slot = await webhooks.producer.cluster('KEYSLOT', `${bullmqPrefix(prefix)}:webhook:wait`);
        const victim = await primaryOf(slot, cluster.ports[0]!, cluster.password);

        const stream = await enqueueThroughFailover(webhooks.enqueuer, () => cluster.kill(victim), 30_000);
        // A replica is promoted once the others count the primary failed (node timeout 2 s).
        expectOutageFeltAndBounded(stream, 20_000);
        // Nothing accepted is lost, nothing is in twice: the promoted replica has every job.
        await expectRedeliveredNothingLost(webhooks, stream);
        // …and the slot is served by another node now.
        expect(
          await primaryOf(
            slot,
            cluster.ports.find((p) => p !== victim)!,
            cluster.password,
          ),
        ).not.toBe(victim);
      } finally {
        await webhooks.close();
      }
    } finally {
      await cluster.stop();
    }
  });
});
