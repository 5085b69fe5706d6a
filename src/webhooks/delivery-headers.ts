import type { IncomingHttpHeaders } from 'node:http';
import { WebhookHeaderInvalid, WebhookHeaderMissing } from '../errors.js';

export interface DeliveryHeaders {
  event: string;
  deliveryId: string;
  /** `X-GitHub-Hook-ID`; null when absent (older GHES, hand-made requests). */
  hookId: string | null;
  /** `X-GitHub-Hook-Installation-Target-ID`: the App (or repo/org) the hook belongs to. */
  hookTargetId: string | null;
}

// GitHub delivery ids are GUIDs; event names are snake_case words. Anything else is not GitHub,
// and these values end up in Redis keys, job ids and log lines, so they are checked strictly.
const DELIVERY_ID = /^[A-Za-z0-9-]{1,64}$/;
const EVENT = /^[a-z][a-z0-9_]{0,63}$/;
const NUMERIC_ID = /^\d{1,20}$/;

function single(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Reads the GitHub delivery headers. Throws 400 errors for missing or malformed values. */
export function readDeliveryHeaders(headers: IncomingHttpHeaders): DeliveryHeaders {
  const event = single(headers, 'x-github-event');
  const deliveryId = single(headers, 'x-github-delivery');
  if (event === undefined || event === '') throw WebhookHeaderMissing('X-GitHub-Event');
  if (deliveryId === undefined || deliveryId === '') throw WebhookHeaderMissing('X-GitHub-Delivery');
  if (!EVENT.test(event)) throw WebhookHeaderInvalid('X-GitHub-Event');
  if (!DELIVERY_ID.test(deliveryId)) throw WebhookHeaderInvalid('X-GitHub-Delivery');
  const hookId = single(headers, 'x-github-hook-id') ?? null;
  const hookTargetId = single(headers, 'x-github-hook-installation-target-id') ?? null;
  if (hookId !== null && !NUMERIC_ID.test(hookId)) throw WebhookHeaderInvalid('X-GitHub-Hook-ID');
  if (hookTargetId !== null && !NUMERIC_ID.test(hookTargetId)) {
    throw WebhookHeaderInvalid('X-GitHub-Hook-Installation-Target-ID');
  }
  return { event, deliveryId, hookId, hookTargetId };
}

/** A log-safe form of the delivery id from an unverified request (bounded, no control chars). */
export function deliveryIdForLog(headers: IncomingHttpHeaders): string | undefined {
  const raw = single(headers, 'x-github-delivery');
  if (raw === undefined) return undefined;
  return DELIVERY_ID.test(raw) ? raw : 'malformed';
}

/**
 * The delivery's identity, scoped per App and hook: GitHub delivery ids are unique per hook, and
 * one Shipgate may receive from several Apps. Used as the BullMQ job id (no `:` allowed there)
 * and in the dedupe key.
 */
export function deliveryKey(h: Pick<DeliveryHeaders, 'deliveryId' | 'hookId' | 'hookTargetId'>): string {
  return `gh-${h.hookTargetId ?? '0'}-${h.hookId ?? '0'}-${h.deliveryId}`;
}
