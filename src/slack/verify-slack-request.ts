import { createHmac, timingSafeEqual } from 'node:crypto';
import { SlackSignatureInvalid, SlackTimestampStale } from '../errors.js';

/** Slack's replay window: a request older (or newer) than this is refused. */
export const SLACK_TIMESTAMP_WINDOW_SECONDS = 5 * 60;

const SIGNATURE_PATTERN = /^v0=[0-9a-f]{64}$/;

export interface SlackRequestToVerify {
  signingSecret: string;
  /** `X-Slack-Request-Timestamp`, Unix seconds as sent. */
  timestamp: string | undefined;
  /** `X-Slack-Signature`, `v0=<hex>`. */
  signature: string | undefined;
  /** The body exactly as received, before any parsing. */
  rawBody: string;
  /**
   * Read through a function so tests can pin the clock (the published test vector is from 2018).
   * @defaultValue `Date.now`
   */
  now?: () => number;
}

/** `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{rawBody}` (https://api.slack.com/authentication/verifying-requests-from-slack). */
export function computeSlackSignature(signingSecret: string, timestamp: string, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`, 'utf8').digest('hex')}`;
}

/**
 * Checks only the timestamp, so a caller can refuse a stale request from its headers alone,
 * before reading the body. Throws `SHIPGATE_E_SLACK_TIMESTAMP`.
 */
export function assertFreshSlackTimestamp(
  timestamp: string | undefined,
  now: () => number = Date.now,
): number {
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) throw SlackTimestampStale();
  const seconds = Number(timestamp);
  const skew = Math.abs(Math.floor(now() / 1000) - seconds);
  // Both directions: a timestamp from the future is as suspicious as an old one.
  if (skew > SLACK_TIMESTAMP_WINDOW_SECONDS) throw SlackTimestampStale();
  return seconds;
}

/**
 * Verifies a request from Slack. Throws `SHIPGATE_E_SLACK_TIMESTAMP` or `SHIPGATE_E_SLACK_SIGNATURE`
 * (both 401); returns normally when the request is authentic.
 */
export function verifySlackRequest(request: SlackRequestToVerify): void {
  const { signingSecret, timestamp, signature, rawBody } = request;
  if (signature === undefined || signature === '') throw SlackSignatureInvalid('missing');
  assertFreshSlackTimestamp(timestamp, request.now);
  if (!SIGNATURE_PATTERN.test(signature)) throw SlackSignatureInvalid('malformed');
  const expected = Buffer.from(computeSlackSignature(signingSecret, timestamp as string, rawBody), 'utf8');
  const received = Buffer.from(signature, 'utf8');
  // timingSafeEqual throws on buffers of different lengths, so compare lengths first. Leaking the
  // length is harmless (every valid signature is 67 bytes); leaking where the bytes first differ
  // would let an attacker forge a signature byte by byte, hence the constant-time compare.
  if (expected.length !== received.length || !timingSafeEqual(expected, received)) {
    throw SlackSignatureInvalid('mismatch');
  }
}
