import type { FastifyInstance } from 'fastify';
import type { RedisClient } from '../redis/connection.js';
import type { Metrics } from '../metrics/create-metrics.js';
import { untilAborted } from '../retry/until-aborted.js';

/** Bound on the readiness ping: a probe must answer well inside the kubelet's timeout. */
const READY_TIMEOUT_MS = 1000;

/**
 * ioredis takes no AbortSignal, so the ping is not cancelled: a late PONG is dropped, and a ping
 * queued while Redis is away fails by the client's own retry limit. The probe answers on time.
 */
async function pingWithin(redis: RedisClient, ms: number): Promise<boolean> {
  try {
    return (await untilAborted(redis.ping(), AbortSignal.timeout(ms))) === 'PONG';
  } catch {
    return false;
  }
}

/**
 * `/livez`: the process serves HTTP (no dependencies, so a Redis outage never restarts pods).
 * `/readyz`: Redis answers a PING, so a webhook would be queued; 503 otherwise.
 * `/metrics`: Prometheus text format from the process registry.
 */
export async function opsRoutes(
  app: FastifyInstance,
  options: { producer: RedisClient; metrics: Metrics },
): Promise<void> {
  const { producer, metrics } = options;
  app.get('/livez', async () => ({ ok: true }));
  app.get('/readyz', async (_request, reply) => {
    const redis = await pingWithin(producer, READY_TIMEOUT_MS);
    return reply.code(redis ? 200 : 503).send({ ok: redis, checks: { redis: redis ? 'ok' : 'unreachable' } });
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });
}
