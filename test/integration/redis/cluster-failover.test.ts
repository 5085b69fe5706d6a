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
import { startRedisCluster } from '../../support/redis-cluster.js';
import { askRedis } from '../../support/redis-processes.js';

const push = JSON.parse(
  readFileSync(`${FIXTURES}/github/push-tag-created.docs-example.json`, 'utf8'),
) as Record<string, unknown>;
const job = (deliveryId: string) =>
  normalizeWebhook(
    { deliveryId, event: 'push', hookId: '1', hookTargetId: '2', receivedAt: new Date() },
    push,
  );
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
    const producer = createRedisConnection(cluster.url, 'producer', { commandTimeoutMs: 1000 });
    const queue = new Queue('webhook', { connection: producer, prefix: bullmqPrefix(prefix) });
    try {
      await waitUntilReady(producer, 20_000);
      await queue.waitUntilReady();
      const enqueuer = createDeliveryEnqueuer({ producer, queue, timeoutMs: 1500 });
      // Every queue key shares the `{prefix}` tag, so one primary carries the whole queue.
      const slot = await producer.cluster('KEYSLOT', `${bullmqPrefix(prefix)}:webhook:wait`);
      const victim = await primaryOf(slot, cluster.ports[0]!, cluster.password);

      const accepted: string[] = [];
      const refused: string[] = [];
      let killedAt = 0;
      let resumedAt = 0;
      let acceptedAfterKill = 0;
      for (let i = 0; acceptedAfterKill < 20; i += 1) {
        if (i === 20) {
          await cluster.kill(victim);
          killedAt = Date.now();
        }
        if (killedAt > 0 && Date.now() - killedAt > 30_000) break;
        const id = `gh-${i}`;
        try {
          await enqueuer.enqueue(id, job(id));
          accepted.push(id);
          if (killedAt > 0) {
            acceptedAfterKill += 1;
            resumedAt ||= Date.now();
          }
        } catch (err) {
          // The ingress answers 503 (GitHub records a failed delivery and it is redelivered).
          expect(isShipgateError(err) && err.statusCode === 503, String(err)).toBe(true);
          refused.push(id);
          await sleep(100);
        }
      }
      expect(accepted.length).toBeGreaterThanOrEqual(40);
      // The kill was felt: some deliveries were refused while no primary served the slot.
      expect(refused.length).toBeGreaterThan(0);
      // A replica is promoted once the others count the primary failed (node timeout 2 s).
      expect(resumedAt - killedAt).toBeGreaterThan(0);
      expect(resumedAt - killedAt).toBeLessThan(20_000);

      // GitHub's redelivery of each refused delivery: each is taken now (or found taken, when
      // the 503 came after the write).
      for (const id of refused) {
        expect(['accepted', 'duplicate']).toContain(await enqueuer.enqueue(id, job(id)));
      }
      // Nothing accepted is lost, nothing is in twice: the promoted replica has every job.
      const jobs = await queue.getJobs(['waiting'], 0, -1);
      expect(jobs.map((j) => j.id).sort()).toEqual([...accepted, ...refused].sort());
      // …and the slot is served by another node now.
      expect(
        await primaryOf(
          slot,
          cluster.ports.find((p) => p !== victim)!,
          cluster.password,
        ),
      ).not.toBe(victim);
    } finally {
      await queue.close().catch(() => undefined);
      producer.disconnect();
      await cluster.stop();
    }
  });
});
