import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { isShipgateError } from '../../../src/errors.js';
import { bullmqPrefix } from '../../../src/queue/bullmq-prefix.js';
import { createRedisConnection, waitUntilReady } from '../../../src/redis/connection.js';
import { createDeliveryEnqueuer } from '../../../src/webhooks/enqueue-delivery.js';
import { normalizeWebhook } from '../../../src/webhooks/normalize-webhook.js';
import { FIXTURES } from '../../support/fixtures.js';
import { TEST_REDIS_IS_CLUSTER, uniquePrefix } from '../../support/redis.js';
import { startRedisSentinel } from '../../support/redis-sentinel.js';

const push = JSON.parse(
  readFileSync(`${FIXTURES}/github/push-tag-created.docs-example.json`, 'utf8'),
) as Record<string, unknown>;
const job = (deliveryId: string) =>
  normalizeWebhook(
    { deliveryId, event: 'push', hookId: '1', hookTargetId: '2', receivedAt: new Date() },
    push,
  );
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Run by `npm run test:cluster`, the high-availability suite, to keep `npm test` short: a
// failover takes a few seconds of waiting by design.
describe.skipIf(!TEST_REDIS_IS_CLUSTER)('the Sentinel-monitored primary killed mid-stream', () => {
  it('webhook enqueues answer 503 until the Sentinel promotes the replica, then resume; nothing accepted is lost', async () => {
    const sentinel = await startRedisSentinel('shipgate-failover', { replica: true, downAfterMs: 3000 });
    const prefix = uniquePrefix('sentinel-failover');
    const producer = createRedisConnection(sentinel.url, 'producer', { commandTimeoutMs: 1000 });
    const queue = new Queue('webhook', { connection: producer, prefix: bullmqPrefix(prefix) });
    try {
      await waitUntilReady(producer, 20_000);
      await queue.waitUntilReady();
      const enqueuer = createDeliveryEnqueuer({ producer, queue, timeoutMs: 1500 });
      const accepted: string[] = [];
      const refused: string[] = [];
      let killedAt = 0;
      let resumedAt = 0;
      let acceptedAfterKill = 0;
      for (let i = 0; acceptedAfterKill < 20; i += 1) {
        if (i === 20) {
          // Still the first primary: no failover yet (3 s down-after leaves a loaded machine
          // room; a needless failover would drop what the old primary took meanwhile, as Redis's
          // asynchronous replication allows, and this test would not be about that).
          expect(await sentinel.currentPrimary()).toBe(sentinel.primaryPort);
          await sentinel.kill(sentinel.primaryPort);
          killedAt = Date.now();
        }
        if (killedAt > 0 && Date.now() - killedAt > 40_000) break;
        const id = `gh-${i}`;
        try {
          await enqueuer.enqueue(id, job(id));
          accepted.push(id);
          if (killedAt > 0) {
            acceptedAfterKill += 1;
            resumedAt ||= Date.now();
          }
        } catch (err) {
          expect(isShipgateError(err) && err.statusCode === 503, String(err)).toBe(true);
          refused.push(id);
          await sleep(100);
        }
      }
      expect(accepted.length).toBeGreaterThanOrEqual(40);
      expect(refused.length).toBeGreaterThan(0);
      expect(resumedAt - killedAt).toBeGreaterThan(0);
      expect(resumedAt - killedAt).toBeLessThan(30_000);
      // The connection followed the Sentinel to the promoted replica.
      expect(await producer.info('server')).toContain(`tcp_port:${sentinel.replicaPort}`);
      for (const id of refused) {
        expect(['accepted', 'duplicate']).toContain(await enqueuer.enqueue(id, job(id)));
      }
      const jobs = await queue.getJobs(['waiting'], 0, -1);
      expect(jobs.map((j) => j.id).sort()).toEqual([...accepted, ...refused].sort());
    } finally {
      await queue.close().catch(() => undefined);
      producer.disconnect();
      await sentinel.stop();
    }
  });
});
