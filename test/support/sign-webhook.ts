import { randomUUID } from 'node:crypto';
import { sign } from '@octokit/webhooks-methods';

export interface SignedDelivery {
  headers: Record<string, string>;
  body: string;
  deliveryId: string;
}

export interface DeliveryOptions {
  secret: string;
  event: string;
  payload: unknown;
  deliveryId?: string;
  hookId?: string;
  targetId?: string;
  /** Form mode (`payload=<json>`), as GitHub sends when the hook's content type is form. */
  form?: boolean;
}

/**
 * A delivery as GitHub sends it, signed with the real signing function of octokit
 * (`@octokit/webhooks-methods` `sign`), with the headers GitHub sets.
 */
export async function signedDelivery(options: DeliveryOptions): Promise<SignedDelivery> {
  const deliveryId = options.deliveryId ?? randomUUID();
  const json = typeof options.payload === 'string' ? options.payload : JSON.stringify(options.payload);
  const body = options.form ? new URLSearchParams({ payload: json }).toString() : json;
  const headers: Record<string, string> = {
    'content-type': options.form ? 'application/x-www-form-urlencoded' : 'application/json',
    'user-agent': 'GitHub-Hookshot/0000000',
    'x-github-event': options.event,
    'x-github-delivery': deliveryId,
    'x-github-hook-id': options.hookId ?? '424242',
    'x-github-hook-installation-target-id': options.targetId ?? '1001',
    'x-github-hook-installation-target-type': 'integration',
    'x-hub-signature-256': await sign(options.secret, body),
  };
  return { headers, body, deliveryId };
}

/** POSTs a signed delivery and returns status and JSON body. */
export async function postDelivery(
  baseUrl: string,
  delivery: { headers: Record<string, string>; body: string | Buffer },
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${baseUrl}/webhooks/github`, {
    method: 'POST',
    headers: delivery.headers,
    body: delivery.body,
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON; keep the text
  }
  return { status: res.status, body };
}
