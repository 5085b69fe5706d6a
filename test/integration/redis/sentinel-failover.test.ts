import { describe, expect, it } from 'vitest';
import { TEST_REDIS_IS_CLUSTER, uniquePrefix } from '../../support/redis.js';
import { startRedisSentinel } from '../../support/redis-sentinel.js';
import {
  enqueueThroughFailover,
  expectOutageFeltAndBounded,
  expectRedeliveredNothingLost,
  openWebhookQueue,
} from './enqueue-through-failover.js';

// Run by `npm run test:cluster`, the high-availability suite, to keep `npm test` short: a
// failover takes a few seconds of waiting by design.
describe.skipIf(!TEST_REDIS_IS_CLUSTER)('the Sentinel-monitored primary killed mid-stream', () => {
  it('webhook enqueues answer 503 until the Sentinel promotes the replica, then resume; nothing accepted is lost', async () => {
    const sentinel = await startRedisSentinel('shipgate-failover', { replica: true, downAfterMs: 3000 });
    try {
      const webhooks = await openWebhookQueue(sentinel.url, uniquePrefix('sentinel-failover'));
      try {
        const stream = await enqueueThroughFailover(
          webhooks.enqueuer,
          async () => {
            // Still the first primary: no failover yet (3 s down-after leaves a loaded machine
            // room; a needless failover would drop what the old primary took meanwhile, as Redis's
            // asynchronous replication allows, and this test would not be about that).
            expect(await sentinel.currentPrimary()).toBe(sentinel.primaryPort);
            await sentinel.kill(sentinel.primaryPort);
          },
          40_000,
        );
        expectOutageFeltAndBounded(stream, 30_000);
        // The connection followed the Sentinel to the promoted replica.
        expect(await webhooks.producer.info('server')).toContain(`tcp_port:${sentinel.replicaPort}`);
        await expectRedeliveredNothingLost(webhooks, stream);
      } finally {
        await webhooks.close();
      }
    } finally {
      await sentinel.stop();
    }
  });
});
