import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimited, WebhookBodiesBusy, WebhookBodyTooLarge, WebhookSignatureInvalid } from '../errors.js';
import type { BodyBudget } from '../http/body-budget.js';
import type { RejectionLimiter } from '../http/rejection-limiter.js';
import { readDeliveryHeaders } from './delivery-headers.js';
import { singleHeader } from './read-payload.js';
import { isWellFormedSignature } from './verify-signature.js';

/** GitHub caps webhook payloads at 25 MB and drops larger ones. */
export const WEBHOOK_BODY_LIMIT = 25 * 1024 * 1024;
/** Bodies up to this size (typical deliveries are a few KB) are read without a reservation. */
export const LARGE_BODY_BYTES = 1024 * 1024;

export interface AdmissionDeps {
  limiter: RejectionLimiter;
  /** Shared by bodies over `LARGE_BODY_BYTES` (or of unknown length) while they are read. */
  largeBodies: BodyBudget;
}

/**
 * The webhook route's `onRequest`: everything that can be decided from the headers alone, before
 * a body byte is read. Cheapest first: signature shape (401), delivery headers (400),
 * `Content-Length` over GitHub's cap (413). A large or chunked body then also needs its client
 * under the rejection limit (429) and room in the byte budget (503), so a flood of big unsigned
 * uploads costs a bounded amount of memory while small deliveries keep flowing.
 */
export function admitWebhook(deps: AdmissionDeps) {
  return async function admit(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    // Read once, now: after an abort the socket is gone and `request.ip` with it.
    request.clientKey = request.ip ?? 'unknown';
    if (!isWellFormedSignature(singleHeader(request, 'x-hub-signature-256'))) throw WebhookSignatureInvalid();
    request.deliveryHeaders = readDeliveryHeaders(request.headers);
    const declared = singleHeader(request, 'content-length');
    const length = declared === undefined ? undefined : Number(declared);
    if (length !== undefined && length > WEBHOOK_BODY_LIMIT) throw WebhookBodyTooLarge(WEBHOOK_BODY_LIMIT);
    if (length !== undefined && length <= LARGE_BODY_BYTES) return;

    const retryAfter = deps.limiter.blockedFor(request.clientKey);
    if (retryAfter > 0) throw RateLimited(retryAfter, { details: { retryAfter } });
    // Chunked bodies have no declared length: reserve the most they may grow to.
    const reserved = length ?? WEBHOOK_BODY_LIMIT;
    if (!deps.largeBodies.tryTake(reserved)) throw WebhookBodiesBusy();
    // 'close' fires once whether the answer was sent or the client went away.
    reply.raw.once('close', () => deps.largeBodies.give(reserved));
  };
}
