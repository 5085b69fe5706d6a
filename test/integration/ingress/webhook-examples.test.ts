import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyEvent } from '../../../src/webhooks/classify-event.js';
import { WebhookJobSchema } from '../../../src/webhooks/webhook-job.js';
import { postDelivery, signedDelivery } from '../../support/sign-webhook.js';
import { SECRET, startIngress, type Ingress } from './ingress-harness.js';

interface ExampleGroup {
  name: string;
  examples: Record<string, unknown>[];
}
const examples = createRequire(import.meta.url)(
  '@octokit/webhooks-examples/api.github.com/index.json',
) as ExampleGroup[];

let ingress: Ingress;
beforeAll(async () => {
  ingress = await startIngress();
});
afterAll(async () => {
  await ingress.close();
});

describe('every @octokit/webhooks-examples payload, signed and POSTed', () => {
  it('enqueues handled events exactly once and acknowledges the rest', async () => {
    const all = examples.flatMap((g) => g.examples.map((payload) => ({ event: g.name, payload })));
    expect(all.length).toBeGreaterThan(300);
    const handled: string[] = [];
    const statuses = new Map<number, number>();
    // Sequential batches keep the load polite on a shared 2-core machine.
    for (let i = 0; i < all.length; i += 20) {
      await Promise.all(
        all.slice(i, i + 20).map(async ({ event, payload }) => {
          const delivery = await signedDelivery({ secret: SECRET, event, payload });
          const res = await postDelivery(ingress.baseUrl, delivery);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          const action = typeof payload.action === 'string' ? payload.action : undefined;
          const kind = classifyEvent(event, action).kind;
          if (kind === 'handled') {
            expect(res, `${event}.${action}`).toMatchObject({ status: 202, body: { outcome: 'accepted' } });
            handled.push(delivery.deliveryId);
          } else {
            expect(res, `${event}.${action}`).toMatchObject({ status: 200, body: { outcome: kind } });
          }
          // The duplicate of every delivery changes nothing.
          const again = await postDelivery(ingress.baseUrl, delivery);
          expect(again.status).toBe(200);
          if (kind === 'handled') expect(again.body).toMatchObject({ outcome: 'duplicate' });
        }),
      );
    }
    expect(handled.length).toBeGreaterThan(30);
    expect(await ingress.jobCount()).toBe(handled.length);

    const jobs = await ingress.queues.webhook.getJobs(['waiting'], 0, -1);
    expect(jobs).toHaveLength(handled.length);
    expect(new Set(jobs.map((j) => j.data.deliveryId))).toEqual(new Set(handled));
    for (const job of jobs) {
      // Job data is the normalised, bounded subset, and parses as the consumers will parse it.
      expect(WebhookJobSchema.safeParse(job.data).success).toBe(true);
      expect(JSON.stringify(job.data).length).toBeLessThan(8 * 1024);
      expect(job.opts.attempts).toBeGreaterThan(1);
    }
    const metrics = await ingress.metrics.registry.getSingleMetricAsString('shipgate_webhook_requests_total');
    expect(metrics).toMatch(/event="push",outcome="accepted"} 7/);
  });
});
