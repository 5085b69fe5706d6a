import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from 'bullmq';
import { createRedisConnection } from '../../../src/redis/connection.js';
import { deliveryKey, readDeliveryHeaders } from '../../../src/webhooks/delivery-headers.js';
import { dedupeKey } from '../../../src/webhooks/enqueue-delivery.js';
import { signBody } from '../../../src/webhooks/verify-signature.js';
import { postDelivery, signedDelivery } from '../../support/sign-webhook.js';
import { SECRET, startIngress, type Ingress } from './ingress-harness.js';
import { FIXTURES } from '../../support/fixtures.js';
import { bullmqPrefix } from '../../../src/queue/bullmq-prefix.js';

const push = JSON.parse(
  readFileSync(`${FIXTURES}/github/push-tag-created.docs-example.json`, 'utf8'),
) as Record<string, unknown>;
const vectors = (
  JSON.parse(readFileSync(`${FIXTURES}/github/signature-test-vectors.json`, 'utf8')) as {
    vectors: { secret: string; payload: string; x_hub_signature_256: string }[];
  }
).vectors;

let ingress: Ingress;
beforeAll(async () => {
  ingress = await startIngress({ limits: { rejectedWebhooks: { max: 100_000, timeWindowMs: 60_000 } } });
});
afterAll(async () => {
  await ingress.close();
});

/** Runs `fn` and asserts the webhook queue holds exactly as many jobs afterwards. */
async function queueUnchanged<T>(fn: () => Promise<T>): Promise<T> {
  const before = await ingress.jobCount();
  const result = await fn();
  expect(await ingress.jobCount()).toBe(before);
  return result;
}

describe('hostile inputs: status and an unchanged queue', () => {
  it('401 for a wrong secret', async () => {
    const d = await signedDelivery({ secret: 'not-the-secret', event: 'push', payload: push });
    const res = await queueUnchanged(() => postDelivery(ingress.baseUrl, d));
    expect(res).toMatchObject({ status: 401, body: { error: { code: 'SHIPGATE_E_WEBHOOK_SIGNATURE' } } });
  });

  it('401 for a body changed by one byte after signing', async () => {
    const d = await signedDelivery({ secret: SECRET, event: 'push', payload: push });
    const bytes = Buffer.from(d.body);
    bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 1;
    const res = await queueUnchanged(() => postDelivery(ingress.baseUrl, { ...d, body: bytes }));
    expect(res.status).toBe(401);
  });

  it('401 for the signature in another case, with another prefix, or only the SHA-1 header', async () => {
    const d = await signedDelivery({ secret: SECRET, event: 'push', payload: push });
    const sig = d.headers['x-hub-signature-256']!;
    const hex = sig.slice('sha256='.length);
    const variants: Record<string, string>[] = [
      { 'x-hub-signature-256': sig.toUpperCase() },
      { 'x-hub-signature-256': `SHA256=${hex}` },
      { 'x-hub-signature-256': `sha256=${hex.toUpperCase()}` },
      { 'x-hub-signature-256': `sha1=${hex}` },
      { 'x-hub-signature-256': hex },
      { 'x-hub-signature-256': `sha256=${hex}0` },
      { 'x-hub-signature-256': `sha256=${hex.slice(0, 40)}` },
    ];
    for (const v of variants) {
      const res = await queueUnchanged(() =>
        postDelivery(ingress.baseUrl, { ...d, headers: { ...d.headers, ...v } }),
      );
      expect(res.status, JSON.stringify(v)).toBe(401);
    }
    const { ['x-hub-signature-256']: _dropped, ...withoutSha256 } = d.headers;
    const sha1Only = { ...withoutSha256, 'x-hub-signature': `sha1=${'a'.repeat(40)}` };
    const res = await queueUnchanged(() => postDelivery(ingress.baseUrl, { ...d, headers: sha1Only }));
    expect(res.status).toBe(401);
  });

  it('413 for a body over 25 MB', async () => {
    const big = Buffer.alloc(25 * 1024 * 1024 + 1, 0x20);
    const d = await signedDelivery({ secret: SECRET, event: 'push', payload: '{}' });
    const headers = { ...d.headers, 'x-hub-signature-256': signBody(SECRET, big) };
    const res = await queueUnchanged(() => postDelivery(ingress.baseUrl, { headers, body: big }));
    expect(res).toMatchObject({
      status: 413,
      body: { error: { code: 'SHIPGATE_E_WEBHOOK_BODY_TOO_LARGE' } },
    });
  });

  it('400 for a valid signature over invalid JSON', async () => {
    const d = await signedDelivery({ secret: SECRET, event: 'push', payload: '{"ref": "refs/tags/v1",' });
    const res = await queueUnchanged(() => postDelivery(ingress.baseUrl, d));
    expect(res).toMatchObject({
      status: 400,
      body: { error: { code: 'SHIPGATE_E_WEBHOOK_PAYLOAD_INVALID' } },
    });
  });

  it('deeply nested JSON neither crashes nor enqueues', async () => {
    const depth = 200_000;
    const nested = `{"ref":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const d = await signedDelivery({ secret: SECRET, event: 'push', payload: nested });
    const res = await queueUnchanged(() => postDelivery(ingress.baseUrl, d));
    expect(res).toMatchObject({
      status: 400,
      body: { error: { code: 'SHIPGATE_E_WEBHOOK_PAYLOAD_INVALID' } },
    });
    const ignored = await signedDelivery({ secret: SECRET, event: 'star', payload: nested });
    expect((await queueUnchanged(() => postDelivery(ingress.baseUrl, ignored))).status).toBe(200);
    expect((await fetch(`${ingress.baseUrl}/livez`)).status).toBe(200);
  });

  it('400 for a missing or malformed event or delivery header; 401 without a signature', async () => {
    const d = await signedDelivery({ secret: SECRET, event: 'push', payload: push });
    const without = (name: string) =>
      Object.fromEntries(Object.entries(d.headers).filter(([k]) => k !== name));
    const cases: [Record<string, string>, number, string][] = [
      [without('x-github-event'), 400, 'SHIPGATE_E_WEBHOOK_HEADER_MISSING'],
      [without('x-github-delivery'), 400, 'SHIPGATE_E_WEBHOOK_HEADER_MISSING'],
      [{ ...d.headers, 'x-github-delivery': '../../etc/passwd' }, 400, 'SHIPGATE_E_WEBHOOK_HEADER_INVALID'],
      [
        { ...d.headers, 'x-github-event': 'Push\r\nX: y'.replace(/\r\n/, ' ') },
        400,
        'SHIPGATE_E_WEBHOOK_HEADER_INVALID',
      ],
      [{ ...d.headers, 'x-github-hook-id': 'abc' }, 400, 'SHIPGATE_E_WEBHOOK_HEADER_INVALID'],
      [without('x-hub-signature-256'), 401, 'SHIPGATE_E_WEBHOOK_SIGNATURE'],
    ];
    for (const [headers, status, code] of cases) {
      const res = await queueUnchanged(() => postDelivery(ingress.baseUrl, { headers, body: d.body }));
      expect(res).toMatchObject({ status, body: { error: { code } } });
    }
  });

  it('415 for a content type it does not accept', async () => {
    const d = await signedDelivery({ secret: SECRET, event: 'push', payload: push });
    for (const type of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x']) {
      const res = await queueUnchanged(() =>
        postDelivery(ingress.baseUrl, { ...d, headers: { ...d.headers, 'content-type': type } }),
      );
      expect(res).toMatchObject({
        status: 415,
        body: { error: { code: 'SHIPGATE_E_WEBHOOK_CONTENT_TYPE' } },
      });
    }
  });

  it('100 concurrent POSTs of one delivery make one job', async () => {
    const d = await signedDelivery({ secret: SECRET, event: 'push', payload: push });
    const before = await ingress.jobCount();
    const results = await Promise.all(Array.from({ length: 100 }, () => postDelivery(ingress.baseUrl, d)));
    expect(await ingress.jobCount()).toBe(before + 1);
    expect(results.filter((r) => r.status === 202)).toHaveLength(1);
    expect(
      results.filter((r) => r.status === 200 && (r.body as { outcome: string }).outcome === 'duplicate'),
    ).toHaveLength(99);
  });
});

describe('deduplication over time', () => {
  it('a redelivery after the job was processed makes no second job', async () => {
    const d = await signedDelivery({ secret: SECRET, event: 'push', payload: push });
    expect((await postDelivery(ingress.baseUrl, d)).status).toBe(202);
    const connection = createRedisConnection(ingress.redisUrl, 'worker');
    const worker = new Worker('webhook', async () => 'done', {
      connection,
      prefix: bullmqPrefix(ingress.prefix),
    });
    try {
      const deadline = Date.now() + 10_000;
      while (
        (await ingress.queues.webhook.getJobCounts('completed')).completed === 0 &&
        Date.now() < deadline
      ) {
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await worker.close();
      connection.disconnect();
    }
    const before = await ingress.jobCount();
    // Even without the ingress marker, BullMQ's deduplication key still refuses a second job.
    await ingress.producer.del(dedupeKey(ingress.prefix, deliveryKey(readDeliveryHeaders(d.headers))));
    expect((await postDelivery(ingress.baseUrl, d)).status).toBe(202);
    expect(await ingress.jobCount()).toBe(before);
    expect((await ingress.queues.webhook.getJobCounts('waiting')).waiting).toBe(0);
  });
});

describe('signatures', () => {
  it('accepts the published test vectors over the raw bytes', async () => {
    const server = await startIngress({ publishedVectorSecrets: vectors.map((v) => v.secret) });
    try {
      for (const v of vectors) {
        const headers = {
          'content-type': 'application/json',
          'x-github-event': 'star',
          'x-github-delivery': crypto.randomUUID(),
          'x-hub-signature-256': v.x_hub_signature_256,
        };
        const res = await postDelivery(server.baseUrl, { headers, body: v.payload });
        // Past the signature: JSON payloads are acknowledged, the docs' "Hello, World!" is not JSON.
        expect(res.status, v.payload).toBe(v.payload.startsWith('{') ? 200 : 400);
        const flipped =
          v.x_hub_signature_256.slice(0, -1) + (v.x_hub_signature_256.endsWith('0') ? '1' : '0');
        const bad = await postDelivery(server.baseUrl, {
          headers: { ...headers, 'x-hub-signature-256': flipped },
          body: v.payload,
        });
        expect(bad.status).toBe(401);
      }
    } finally {
      await server.close();
    }
  });

  it('rotation: the old and the new secret are both accepted, a third is not', async () => {
    const rotation = ['new-webhook-secret-0123', 'old-webhook-secret-4567'];
    const server = await startIngress({ secrets: rotation });
    try {
      for (const secret of rotation) {
        const d = await signedDelivery({ secret, event: 'push', payload: push });
        expect((await postDelivery(server.baseUrl, d)).status).toBe(202);
      }
      const d = await signedDelivery({ secret: 'retired-webhook-secret-89', event: 'push', payload: push });
      expect((await postDelivery(server.baseUrl, d)).status).toBe(401);
      expect(await server.jobCount()).toBe(2);
    } finally {
      await server.close();
    }
  });

  it('accepts GitHub form mode (payload=<json>) and answers ping', async () => {
    const before = await ingress.jobCount();
    const form = await signedDelivery({ secret: SECRET, event: 'push', payload: push, form: true });
    expect(await postDelivery(ingress.baseUrl, form)).toMatchObject({
      status: 202,
      body: { outcome: 'accepted' },
    });
    const ping = await signedDelivery({
      secret: SECRET,
      event: 'ping',
      payload: { zen: 'Keep it logically awesome.', hook_id: 1 },
    });
    expect(await postDelivery(ingress.baseUrl, ping)).toMatchObject({
      status: 200,
      body: { outcome: 'ping' },
    });
    expect(await ingress.jobCount()).toBe(before + 1);
  });
});

describe('a flood of bad signatures', () => {
  it('logs one short line each, never the body, and rate-limits the client but not GitHub', async () => {
    const server = await startIngress({ limits: { rejectedWebhooks: { max: 100, timeWindowMs: 60_000 } } });
    try {
      const marker = 'BODY-MARKER-' + 'x'.repeat(80_000);
      const d = await signedDelivery({ secret: 'attacker', event: 'push', payload: { ...push, marker } });
      const logBefore = server.log.bytes;
      const statuses: number[] = [];
      for (let i = 0; i < 1000; i += 50) {
        const batch = await Promise.all(Array.from({ length: 50 }, () => postDelivery(server.baseUrl, d)));
        statuses.push(...batch.map((r) => r.status));
      }
      const grown = server.log.bytes - logBefore;
      expect(statuses.filter((s) => s === 401)).toHaveLength(100);
      expect(statuses.filter((s) => s === 429)).toHaveLength(900);
      expect(grown / 1000).toBeLessThan(400);
      expect(server.log.text()).not.toContain('BODY-MARKER');
      expect(await server.jobCount()).toBe(0);

      // The same client address with a valid delivery: never throttled.
      const valid = await signedDelivery({ secret: SECRET, event: 'push', payload: push });
      expect((await postDelivery(server.baseUrl, valid)).status).toBe(202);
      const metrics = await server.metrics.registry.getSingleMetricAsString(
        'shipgate_webhook_requests_total',
      );
      expect(metrics).toContain('event="unverified",outcome="rate_limited"} 900');
    } finally {
      await server.close();
    }
  });
});

describe('SHIPGATE_TRUST_PROXY', () => {
  /** Forged deliveries from `client` as an Ingress would forward them (the proxy is this test, on loopback). */
  async function forgedFrom(baseUrl: string, client: string, count: number): Promise<number[]> {
    const d = await signedDelivery({ secret: 'attacker', event: 'push', payload: push });
    const headers = { ...d.headers, 'x-forwarded-for': client };
    return Promise.all(
      Array.from({ length: count }, () =>
        postDelivery(baseUrl, { headers, body: d.body }).then((r) => r.status),
      ),
    );
  }
  const limits = { rejectedWebhooks: { max: 5, timeWindowMs: 60_000 } };

  it('behind a trusted proxy, limits each real client on its own', async () => {
    const server = await startIngress({ limits, env: { SHIPGATE_TRUST_PROXY: '127.0.0.1/32' } });
    try {
      const first = await forgedFrom(server.baseUrl, '203.0.113.5', 8);
      expect(first.filter((s) => s === 429)).toHaveLength(3);
      // Another client behind the same Ingress is not punished for the first one's flood.
      expect(await forgedFrom(server.baseUrl, '198.51.100.7', 1)).toEqual([401]);
    } finally {
      await server.close();
    }
  });

  it('without it, a forged X-Forwarded-For does not get a client out of its limit', async () => {
    const server = await startIngress({ limits });
    try {
      const first = await forgedFrom(server.baseUrl, '203.0.113.5', 8);
      expect(first.filter((s) => s === 429)).toHaveLength(3);
      // Same socket address, another claimed client: still the same (limited) client.
      expect(await forgedFrom(server.baseUrl, '198.51.100.7', 1)).toEqual([429]);
    } finally {
      await server.close();
    }
  });

  it('a proxy it does not trust cannot speak for clients', async () => {
    // Trusts only an address this test is not connecting from.
    const server = await startIngress({ limits, env: { SHIPGATE_TRUST_PROXY: '10.0.0.0/8' } });
    try {
      await forgedFrom(server.baseUrl, '203.0.113.5', 8);
      expect(await forgedFrom(server.baseUrl, '198.51.100.7', 1)).toEqual([429]);
    } finally {
      await server.close();
    }
  });
});
