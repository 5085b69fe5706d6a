import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SlackSignatureInvalid, SlackTimestampStale } from '../../../src/errors.js';
import { computeSlackSignature, verifySlackRequest } from '../../../src/slack/verify-slack-request.js';

const vector = JSON.parse(
  readFileSync(new URL('../../fixtures/slack/signing-test-vector.json', import.meta.url), 'utf8'),
) as { signing_secret: string; headers: Record<string, string>; body: string; basestring: string };
const rawBody = readFileSync(
  new URL('../../fixtures/slack/signing-test-vector-body.txt', import.meta.url),
  'utf8',
);
const timestamp = vector.headers['X-Slack-Request-Timestamp'] as string;
const signature = vector.headers['X-Slack-Signature'] as string;
const fixedClock =
  (offsetSeconds = 0) =>
  () =>
    (Number(timestamp) + offsetSeconds) * 1000;

function attempt(overrides: Partial<Parameters<typeof verifySlackRequest>[0]> = {}): unknown {
  try {
    verifySlackRequest({
      signingSecret: vector.signing_secret,
      timestamp,
      signature,
      rawBody,
      now: fixedClock(),
      ...overrides,
    });
    return undefined;
  } catch (err) {
    return err;
  }
}

describe('verifySlackRequest', () => {
  it('computes the published signature for the published body', () => {
    expect(rawBody).toBe(vector.body);
    expect(rawBody).toHaveLength(362);
    expect(computeSlackSignature(vector.signing_secret, timestamp, rawBody)).toBe(signature);
  });

  it('accepts the published vector on a fixed clock, up to 300 s either way', () => {
    expect(attempt()).toBeUndefined();
    expect(attempt({ now: fixedClock(300) })).toBeUndefined();
    expect(attempt({ now: fixedClock(-300) })).toBeUndefined();
  });

  it('refuses the same vector on the real clock: it is years old', () => {
    expect(SlackTimestampStale.is(attempt({ now: Date.now }))).toBe(true);
  });

  it.each([301, -301])('refuses a timestamp %i s away', (offset) => {
    expect(SlackTimestampStale.is(attempt({ now: fixedClock(offset) }))).toBe(true);
  });

  it.each([undefined, '', 'abc', '1531420618.5', '-1531420618'])('refuses timestamp %j', (ts) => {
    expect(SlackTimestampStale.is(attempt({ timestamp: ts }))).toBe(true);
  });

  it('refuses a changed body, a changed timestamp and another secret', () => {
    expect(SlackSignatureInvalid.is(attempt({ rawBody: rawBody.replace('U2CERLKJA', 'U2CERLKJB') }))).toBe(
      true,
    );
    expect(SlackSignatureInvalid.is(attempt({ timestamp: String(Number(timestamp) + 1) }))).toBe(true);
    expect(SlackSignatureInvalid.is(attempt({ signingSecret: 'another' }))).toBe(true);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['without v0=', signature.slice(3)],
    ['v1 scheme', signature.replace('v0=', 'v1=')],
    ['one char short', signature.slice(0, -1)],
    ['one char long', `${signature}0`],
    ['upper-case hex', signature.toUpperCase().replace('V0=', 'v0=')],
  ])('refuses a signature that is %s', (_label, sig) => {
    const err = attempt({ signature: sig });
    expect(SlackSignatureInvalid.is(err)).toBe(true);
    expect((err as { statusCode: number }).statusCode).toBe(401);
  });
});
