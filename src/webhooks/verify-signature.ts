import { createHmac, timingSafeEqual } from 'node:crypto';

const SIGNATURE_PATTERN = /^sha256=[0-9a-f]{64}$/;

/**
 * True when the header has the one shape GitHub sends: `sha256=` and 64 lowercase hex digits.
 * Checked before the body is read, so a request without a plausible signature costs no body I/O.
 * GitHub always sends lowercase; another case or prefix (`sha1=`, `SHA256=`) is rejected.
 */
export function isWellFormedSignature(header: string | undefined): header is string {
  return header !== undefined && header.length === 71 && SIGNATURE_PATTERN.test(header);
}

/** `sha256=<hex>` as GitHub computes it: HMAC-SHA256 over the raw body bytes, secret as UTF-8. */
export function signBody(secret: string, body: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * Verifies `X-Hub-Signature-256` against every configured secret (rotation), over the raw bytes.
 * Every secret is tried even after a match, and each comparison is constant-time, so timing
 * reveals neither the expected digest nor which secret matched.
 */
export function verifySignature(
  secrets: readonly string[],
  body: Buffer,
  header: string | undefined,
): boolean {
  if (!isWellFormedSignature(header)) return false;
  const received = Buffer.from(header.slice(7), 'hex');
  let matched = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(body).digest();
    // timingSafeEqual throws on a length mismatch; both are 32 bytes here by construction.
    if (expected.length === received.length && timingSafeEqual(expected, received)) matched = true;
  }
  return matched;
}
