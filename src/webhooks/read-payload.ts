import type { FastifyRequest } from 'fastify';
import { isShipgateError, WebhookPayloadInvalid } from '../errors.js';

export const JSON_TYPE = 'application/json';
export const FORM_TYPE = 'application/x-www-form-urlencoded';

function payloadText(body: Buffer, contentType: string): string {
  if (contentType === FORM_TYPE) {
    // GitHub's form mode: `payload=<url-encoded JSON>`; the signature covers the encoded form.
    const payload = new URLSearchParams(body.toString('utf8')).get('payload');
    if (payload === null) throw WebhookPayloadInvalid('form body has no payload field');
    return payload;
  }
  return body.toString('utf8');
}

/** The JSON object of a verified delivery (JSON or form mode). 400 for anything else. */
export function readPayload(request: FastifyRequest, body: Buffer): Record<string, unknown> {
  const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
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

export function singleHeader(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
