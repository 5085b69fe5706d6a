import type {} from '@fastify/helmet';
import type {} from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import {
  RedisUnavailable,
  WebhookBodyTooLarge,
  WebhookContentTypeUnsupported,
  WebhookEnqueueTimeout,
  WebhookPayloadInvalid,
  WebhookSignatureInvalid,
  isShipgateError,
} from '../errors.js';
import type { Metrics, WebhookOutcome } from '../metrics/create-metrics.js';
import type { IngressQueues } from '../queue/create-queues.js';
import { sendHttpError, toHttpError } from '../server/error-handler.js';
import { currentTraceparent } from '../telemetry/trace-context.js';
import { withSpan } from '../telemetry/with-span.js';
import { classifyEvent } from './classify-event.js';
import { deliveryKey, readDeliveryHeaders, type DeliveryHeaders } from './delivery-headers.js';
import { enqueueDelivery } from './enqueue-delivery.js';
import { normalizeWebhook } from './normalize-webhook.js';
import { isWellFormedSignature, verifySignature } from './verify-signature.js';

/** GitHub caps webhook payloads at 25 MB and drops larger ones. */
export const WEBHOOK_BODY_LIMIT = 25 * 1024 * 1024;
export const WEBHOOK_PATH = '/webhooks/github';

const JSON_TYPE = 'application/json';
const FORM_TYPE = 'application/x-www-form-urlencoded';

export interface WebhookRouteOptions {
  secrets: readonly string[];
  producer: Redis;
  queues: IngressQueues;
  /** BullMQ prefix (`config.queuePrefix`). Not `prefix`: fastify reads that as a route prefix. */
  queuePrefix: string;
  metrics: Metrics;
  /** Rejected requests a client may make per window before it gets 429s. @defaultValue 100 per minute */
  rejectedLimit?: { max: number; timeWindowMs: number };
  /** @defaultValue 3000 */
  enqueueTimeoutMs?: number;
}

/** What the one log line and the metrics of a webhook request say. */
export interface WebhookRequestState {
  event: string;
  outcome: WebhookOutcome;
  reason?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    webhook: WebhookRequestState | null;
    deliveryHeaders: DeliveryHeaders | null;
  }
}

function outcomeOf(statusCode: number, code: string): WebhookOutcome {
  if (statusCode === 401) return 'unauthorized';
  if (statusCode === 413) return 'too_large';
  if (statusCode === 415) return 'unsupported_media_type';
  if (statusCode === 429) return 'rate_limited';
  if (statusCode === 503 || code === RedisUnavailable.code || code === WebhookEnqueueTimeout.code) {
    return 'unavailable';
  }
  if (statusCode >= 400 && statusCode < 500) return 'bad_request';
  return 'error';
}

function payloadText(body: Buffer, contentType: string): string {
  if (contentType === FORM_TYPE) {
    // GitHub's form mode: `payload=<url-encoded JSON>`; the signature covers the encoded form.
    const payload = new URLSearchParams(body.toString('utf8')).get('payload');
    if (payload === null) throw WebhookPayloadInvalid('form body has no payload field');
    return payload;
  }
  return body.toString('utf8');
}

function parsePayload(body: Buffer, contentType: string): Record<string, unknown> {
  let value: unknown;
  try {
    // V8's JSON.parse is iterative, so deep nesting cannot overflow the stack here; nothing
    // downstream walks the payload recursively (the normaliser reads fixed paths).
    value = JSON.parse(payloadText(body, contentType));
  } catch (err) {
    if (isShipgateError(err)) throw err;
    throw WebhookPayloadInvalid('body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw WebhookPayloadInvalid('body is not a JSON object');
  }
  return value as Record<string, unknown>;
}

/**
 * `POST /webhooks/github`, registered in its own encapsulated context so its body parser and
 * error handling apply to this route only. Order of checks, cheapest first:
 * signature header shape (401) → delivery headers (400) → body size and type (413/415) →
 * HMAC over the raw bytes with every secret (401) → JSON (400) → event filter → enqueue.
 */
export async function githubWebhookRoute(app: FastifyInstance, options: WebhookRouteOptions): Promise<void> {
  const { secrets, producer, queues, queuePrefix, metrics } = options;
  const rejectedLimit = options.rejectedLimit ?? { max: 100, timeWindowMs: 60_000 };
  // Counts rejected requests only: a valid delivery never touches this limiter, so GitHub is
  // never throttled even when it shares an address (a proxy, smee) with a noisy client.
  const rejectLimiter = app.createRateLimit({
    max: rejectedLimit.max,
    timeWindow: rejectedLimit.timeWindowMs,
  });

  app.decorateRequest('webhook', null);
  app.decorateRequest('deliveryHeaders', null);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    [JSON_TYPE, FORM_TYPE],
    { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT },
    (_request, body, done) => done(null, body),
  );

  async function reject(request: FastifyRequest, reply: FastifyReply, err: unknown): Promise<FastifyReply> {
    let e = toHttpError(err);
    const fastifyCode = (err as { code?: string }).code;
    if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE')
      e = toHttpError(WebhookBodyTooLarge(WEBHOOK_BODY_LIMIT));
    if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || fastifyCode === 'FST_ERR_CTP_EMPTY_TYPE') {
      e = toHttpError(WebhookContentTypeUnsupported());
    }
    const event = request.webhook?.event ?? 'unverified';
    if (e.statusCode >= 400 && e.statusCode < 500) {
      const limit = await rejectLimiter(request);
      if (!limit.isAllowed && limit.isExceeded) {
        request.webhook = { event, outcome: 'rate_limited', reason: e.code };
        return reply
          .header('retry-after', String(limit.ttlInSeconds))
          .code(429)
          .send({ error: { code: 'SHIPGATE_E_RATE_LIMITED', message: 'too many rejected requests' } });
      }
    } else if (e.statusCode >= 500 && e.statusCode !== 503) {
      request.log.error({ err }, 'webhook failed');
    }
    request.webhook = { event, outcome: outcomeOf(e.statusCode, e.code), reason: e.code };
    return sendHttpError(reply, e);
  }

  app.setErrorHandler((err, request, reply) => reject(request, reply, err));

  app.post(
    WEBHOOK_PATH,
    {
      helmet: false,
      onRequest: async (request) => {
        // Before any body byte is read: a request without a plausible signature is refused here.
        if (!isWellFormedSignature(header(request, 'x-hub-signature-256'))) throw WebhookSignatureInvalid();
        request.deliveryHeaders = readDeliveryHeaders(request.headers);
      },
    },
    async (request, reply) => {
      const body = request.body;
      const headers = request.deliveryHeaders;
      if (!Buffer.isBuffer(body) || headers === null) throw WebhookContentTypeUnsupported();
      if (!verifySignature(secrets, body, header(request, 'x-hub-signature-256'))) {
        throw WebhookSignatureInvalid();
      }
      const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const payload = parsePayload(body, contentType);
      const action = typeof payload.action === 'string' ? payload.action : undefined;
      const decision = classifyEvent(headers.event, action);
      request.webhook = { event: headers.event, outcome: 'ignored' };

      if (decision.kind === 'ping') {
        request.webhook.outcome = 'ping';
        return reply.code(200).send({ ok: true, outcome: 'ping' });
      }
      if (decision.kind === 'ignored') {
        request.webhook.reason = decision.reason;
        return reply.code(200).send({ ok: true, outcome: 'ignored', reason: decision.reason });
      }
      const key = deliveryKey(headers);
      // The one span of the hot path; its context travels in the job (no-op when tracing is off).
      const outcome = await withSpan(
        'webhook.enqueue',
        { attributes: { 'github.event': headers.event, 'github.delivery': key } },
        () => {
          const job = normalizeWebhook({ ...headers, receivedAt: new Date() }, payload);
          const traceparent = currentTraceparent();
          return enqueueDelivery({
            producer,
            queue: queues.webhook,
            prefix: queuePrefix,
            key,
            job: traceparent === undefined ? job : { ...job, traceparent },
            timeoutMs: options.enqueueTimeoutMs,
          });
        },
      );
      request.webhook.outcome = outcome;
      return outcome === 'accepted'
        ? reply.code(202).send({ ok: true, outcome, jobId: key })
        : reply.code(200).send({ ok: true, outcome, jobId: key });
    },
  );

  app.addHook('onResponse', async (request, reply) => {
    const state = request.webhook;
    const outcome = state?.outcome ?? outcomeOf(reply.statusCode, '');
    metrics.webhookRequests.inc({ event: state?.event ?? 'unverified', outcome });
    metrics.webhookDuration.observe({ outcome }, reply.elapsedTime / 1000);
  });
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
