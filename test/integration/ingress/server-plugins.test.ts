import type { FastifyPluginAsync } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotFound } from '../../../src/errors.js';
import { requireBearerToken } from '../../../src/http/require-bearer-token.js';
import { postDelivery, signedDelivery } from '../../support/sign-webhook.js';
import { SECRET, startIngress, type Ingress } from './ingress-harness.js';

const TOKEN = 'api-token-0123456789abcdef';

function runsApi(apiToken: string | undefined): FastifyPluginAsync {
  return async (app) => {
    const auth = requireBearerToken(apiToken);
    app.get('/api/runs/:id', { preHandler: auth }, async (request) => {
      const { id } = request.params as { id: string };
      if (id !== 'r1') throw NotFound(`run ${id}`);
      return { id, status: 'succeeded' };
    });
    app.get('/api/boom', { preHandler: auth }, async () => {
      throw new Error('secret internals');
    });
  };
}

let ingress: Ingress;
beforeAll(async () => {
  ingress = await startIngress({
    env: { SHIPGATE_API_TOKEN: TOKEN },
    plugins: [runsApi(TOKEN)],
    limits: { api: { max: 6, timeWindowMs: 60_000 } },
  });
});
afterAll(async () => {
  await ingress.close();
});

const get = (path: string, token?: string) =>
  fetch(`${ingress.baseUrl}${path}`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });

describe('API plugins share auth, errors, headers and rate limits', () => {
  it('checks the bearer token and maps catalogue errors to JSON', async () => {
    const ok = await get('/api/runs/r1', TOKEN);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ id: 'r1', status: 'succeeded' });
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
    expect(ok.headers.get('content-security-policy')).toBeTruthy();

    const wrong = await get('/api/runs/r1', TOKEN.slice(0, -1) + 'X');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({
      error: { code: 'SHIPGATE_E_UNAUTHORIZED', message: 'missing or invalid bearer token' },
    });
    expect((await get('/api/runs/r1')).status).toBe(401);

    const nf = await fetch(`${ingress.baseUrl}/nope`);
    expect(nf.status).toBe(404);
    expect(await nf.json()).toMatchObject({ error: { code: 'SHIPGATE_E_NOT_FOUND' } });

    const missing = await get('/api/runs/r2', TOKEN);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'SHIPGATE_E_NOT_FOUND' } });

    const boom = await get('/api/boom', TOKEN);
    expect(boom.status).toBe(500);
    const body = JSON.stringify(await boom.json());
    expect(body).toContain('SHIPGATE_E_INTERNAL');
    expect(body).not.toContain('secret internals');
  });

  it('rate-limits API clients with 429 and a JSON error', async () => {
    let last: Response | undefined;
    for (let i = 0; i < 2; i++) last = await get('/api/runs/r1', TOKEN);
    expect(last?.status).toBe(429);
    expect(await last?.json()).toMatchObject({ error: { code: 'SHIPGATE_E_RATE_LIMITED' } });
    expect(last?.headers.get('retry-after')).toBeTruthy();
    // Probes and webhooks are outside the API limit.
    expect((await get('/livez')).status).toBe(200);
    const d = await signedDelivery({ secret: SECRET, event: 'ping', payload: { zen: 'z' } });
    const res = await postDelivery(ingress.baseUrl, d);
    expect(res.status).toBe(200);
  });

  it('sends no security headers on the webhook route; unknown routes are rate-limited too', async () => {
    const d = await signedDelivery({ secret: SECRET, event: 'ping', payload: { zen: 'z' } });
    const res = await fetch(`${ingress.baseUrl}/webhooks/github`, {
      method: 'POST',
      headers: d.headers,
      body: d.body,
    });
    expect(res.headers.get('content-security-policy')).toBeNull();
    // Unknown routes share the API limit, which the previous test used up.
    const nf = await fetch(`${ingress.baseUrl}/nope`);
    expect(nf.status).toBe(429);
  });

  it('answers 503 when no API token is configured, instead of leaving the API open', async () => {
    const open = await startIngress({ plugins: [runsApi(undefined)] });
    try {
      const res = await fetch(`${open.baseUrl}/api/runs/r1`, {
        headers: { authorization: 'Bearer anything' },
      });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: { code: 'SHIPGATE_E_API_TOKEN_NOT_CONFIGURED' } });
    } finally {
      await open.close();
    }
  });

  it('serves metrics in Prometheus format and logs the delivery id on the request line', async () => {
    const d = await signedDelivery({ secret: SECRET, event: 'star', payload: { action: 'created' } });
    await postDelivery(ingress.baseUrl, d);
    const res = await fetch(`${ingress.baseUrl}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('shipgate_webhook_requests_total{event="star",outcome="ignored"} 1');
    expect(text).toContain('shipgate_webhook_duration_seconds_bucket');
    expect(text).toMatch(/shipgate_queue_jobs\{queue="webhook",state="waiting"\} \d+/);
    const line = ingress.log.lines().find((l) => l.deliveryId === d.deliveryId);
    expect(line).toMatchObject({
      event: 'star',
      outcome: 'ignored',
      reason: 'event not handled',
      status: 200,
    });
    // Secrets never reach the log.
    expect(ingress.log.text()).not.toContain(TOKEN);
    expect(ingress.log.text()).not.toContain(SECRET);
  });
});
