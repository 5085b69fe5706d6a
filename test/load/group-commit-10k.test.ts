import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES } from '../support/fixtures.js';
import { postDelivery, signedDelivery } from '../support/sign-webhook.js';
import { SECRET, startIngress, type Ingress } from '../integration/ingress/ingress-harness.js';

const push = JSON.parse(
  readFileSync(`${FIXTURES}/github/push-tag-created.docs-example.json`, 'utf8'),
) as Record<string, unknown>;

describe('group commit over HTTP at full speed', () => {
  let ingress: Ingress;
  beforeAll(async () => {
    ingress = await startIngress();
  });
  afterAll(async () => {
    await ingress.close();
  });

  it('10,000 deliveries with 10% duplicates make exactly 9,000 jobs, and 9,000 answers of 202', async () => {
    const distinct = await Promise.all(
      Array.from({ length: 9000 }, () => signedDelivery({ secret: SECRET, event: 'push', payload: push })),
    );
    // Every tenth delivery is sent twice, the copy close behind (as GitHub retries and
    // redeliveries arrive), so some copies meet their original in flight and some after it.
    const sends = distinct.flatMap((d, i) => (i % 9 === 0 ? [d, d] : [d]));
    expect(sends).toHaveLength(10_000);
    const statuses = new Map<number, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < sends.length) {
          const res = await postDelivery(ingress.baseUrl, sends[next++]!);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      }),
    );
    expect(Object.fromEntries(statuses)).toEqual({ 202: 9000, 200: 1000 });
    expect(await ingress.jobCount()).toBe(9000);
  }, 120_000);
});
