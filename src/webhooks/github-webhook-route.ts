import type {} from '@fastify/helmet';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RedisClient } from '../redis/connection.js';
import {
  RateLimited,
  WebhookBodyTooLarge,
  WebhookContentTypeUnsupported,
  WebhookSignatureInvalid,
  type ShipgateError,
} from '../errors.js';
import type { Metrics, WebhookOutcome } from '../metrics/create-metrics.js';
import type { IngressQueues } from '../queue/create-queues.js';
import { createBodyBudget, type BodyBudget } from '../http/body-budget.js';
import { sendHttpError, toHttpError } from '../http/error-handler.js';
import { createRejectionLimiter } from '../http/rejection-limiter.js';
import { currentTraceparent } from '../telemetry/trace-context.js';
import { withSpan } from '../telemetry/with-span.js';
import { admitWebhook, WEBHOOK_BODY_LIMIT } from './admit-webhook.js';
import { classifyEvent } from './classify-event.js';
import { deliveryKey, type DeliveryHeaders } from './delivery-headers.js';
import { createDeliveryEnqueuer } from './enqueue-delivery.js';
import { normalizeWebhook } from './normalize-webhook.js';
import { FORM_TYPE, JSON_TYPE, readPayload, singleHeader } from './read-payload.js';
import { verifySignature } from './verify-signature.js';

export { WEBHOOK_BODY_LIMIT } from './admit-webhook.js';
export const WEBHOOK_PATH = '/webhooks/github';
/** Bytes of large bodies (over 1 MB) read at one time. @defaultValue 64 MiB */
export const DEFAULT_LARGE_BODY_BUDGET = 64 * 1024 * 1024;

export interface WebhookRouteOptions {
  secrets: readonly string[];
  producer: RedisClient;
  queues: IngressQueues;
  metrics: Metrics;
  /** Rejected requests a client may make per window before it gets 429s. @defaultValue 100 per minute */
  rejectedLimit?: { max: number; timeWindowMs: number } | undefined;
  /** Bound on a batch of enqueues (see `createDeliveryEnqueuer`). @defaultValue 3000 */
  enqueueTimeoutMs?: number | undefined;
  /** @defaultValue a budget of `DEFAULT_LARGE_BODY_BUDGET` bytes */
  largeBodies?: BodyBudget | undefined;
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
    /** The client address as the limiters key it, read in `onRequest`. */
    clientKey: string;
  }
}

const OUTCOME_BY_STATUS: Record<number, WebhookOutcome> = {
  401: 'unauthorized',
  413: 'too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'unavailable',
};

function outcomeOf(statusCode: number): WebhookOutcome {
  return OUTCOME_BY_STATUS[statusCode] ?? (statusCode < 500 ? 'bad_request' : 'error');
}

/**
 * `POST /webhooks/github`, in its own encapsulated context so its body parser and error handling
 * apply to this route only. Headers are judged before the body is read (`admitWebhook`); then
 * HMAC over the raw bytes with every secret (401) → JSON (400) → event filter → one validation
 * pass into bounded job data → group-committed enqueue: 202 once the job is in Redis, 503 if not.
 */
export async function githubWebhookRoute(app: FastifyInstance, options: WebhookRouteOptions): Promise<void> {
  const { secrets, metrics } = options;
  const limit = options.rejectedLimit ?? { max: 100, timeWindowMs: 60_000 };
  const limiter = createRejectionLimiter({ max: limit.max, timeWindowMs: limit.timeWindowMs });
  const largeBodies = options.largeBodies ?? createBodyBudget(DEFAULT_LARGE_BODY_BUDGET);
  // BullMQ reads the Redis version once per connection and keeps a failure forever: wait for it
  // here, so a slow start fails the start instead of leaving every enqueue to fail.
  await options.queues.webhook.waitUntilReady();
  const enqueuer = createDeliveryEnqueuer({
    producer: options.producer,
    queue: options.queues.webhook,
    timeoutMs: options.enqueueTimeoutMs,
  });

  app.decorateRequest('webhook', null);
  app.decorateRequest('deliveryHeaders', null);
  app.decorateRequest('clientKey', '');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    [JSON_TYPE, FORM_TYPE],
    { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT },
    (_request, body, done) => done(null, body),
  );
  app.setErrorHandler((err, request, reply) => reject(request, reply, err));

  app.post(
    WEBHOOK_PATH,
    { helmet: false, onRequest: admitWebhook({ limiter, largeBodies }) },
    async (request, reply) => {
      const { body, deliveryHeaders: headers } = request;
      if (!Buffer.isBuffer(body) || headers === null) throw WebhookContentTypeUnsupported();
      if (!verifySignature(secrets, body, singleHeader(request, 'x-hub-signature-256'))) {
        throw WebhookSignatureInvalid();
      }
      const payload = readPayload(request, body);
      const decision = classifyEvent(
        headers.event,
        typeof payload.action === 'string' ? payload.action : undefined,
      );
      request.webhook = { event: headers.event, outcome: decision.kind === 'ping' ? 'ping' : 'ignored' };
      if (decision.kind === 'ping') return reply.code(200).send({ ok: true, outcome: 'ping' });
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
          return enqueuer.enqueue(key, traceparent === undefined ? job : { ...job, traceparent });
        },
      );
      request.webhook.outcome = outcome;
      return reply.code(outcome === 'accepted' ? 202 : 200).send({ ok: true, outcome, jobId: key });
    },
  );

  function reject(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
    let e = toHttpError(err);
    const fastifyCode = (err as { code?: string }).code;
    if (fastifyCode === 'FST_ERR_CTP_BODY_TOO_LARGE')
      e = toHttpError(WebhookBodyTooLarge(WEBHOOK_BODY_LIMIT));
    if (fastifyCode === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || fastifyCode === 'FST_ERR_CTP_EMPTY_TYPE') {
      e = toHttpError(WebhookContentTypeUnsupported());
    }
    if (request.raw.socket?.destroyed !== false) {
      // The client went away mid-upload: nothing to answer, and nothing worth a stack.
      request.webhook = { event: 'unverified', outcome: 'aborted' };
      return reply;
    }
    let retryAfter = Number((err as ShipgateError).details?.retryAfter ?? 0);
    if (e.statusCode >= 400 && e.statusCode < 500 && e.statusCode !== 429) {
      retryAfter = limiter.blockedFor(request.clientKey);
      limiter.record(request.clientKey);
      if (retryAfter > 0) e = toHttpError(RateLimited(retryAfter));
    } else if (e.statusCode >= 500 && e.statusCode !== 503) {
      request.log.error({ err }, 'webhook failed');
    }
    if (e.statusCode === 429) reply.header('retry-after', String(retryAfter));
    // Refused before its body was read: close rather than drain what the client still sends.
    if (!request.raw.complete) reply.header('connection', 'close');
    request.webhook = {
      event: request.webhook?.event ?? 'unverified',
      outcome: outcomeOf(e.statusCode),
      reason: e.code,
    };
    return sendHttpError(reply, e);
  }

  app.addHook('onResponse', async (request, reply) => {
    const outcome = request.webhook?.outcome ?? outcomeOf(reply.statusCode);
    metrics.webhookRequests.inc({ event: request.webhook?.event ?? 'unverified', outcome });
    metrics.webhookDuration.observe({ outcome }, reply.elapsedTime / 1000);
  });
}
