import { readFileSync } from 'node:fs';
import { sign } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { isWellFormedSignature, signBody, verifySignature } from '../../../src/webhooks/verify-signature.js';
import { FIXTURES } from '../../support/fixtures.js';

const { vectors } = JSON.parse(readFileSync(`${FIXTURES}/github/signature-test-vectors.json`, 'utf8')) as {
  vectors: { secret: string; payload: string; x_hub_signature_256: string }[];
};

describe('verifySignature', () => {
  it.each(vectors)('matches the published vector for secret $secret', (v) => {
    const body = Buffer.from(v.payload, 'utf8');
    expect(signBody(v.secret, body)).toBe(v.x_hub_signature_256);
    expect(verifySignature([v.secret], body, v.x_hub_signature_256)).toBe(true);
    expect(verifySignature(['other', v.secret], body, v.x_hub_signature_256)).toBe(true);
    expect(verifySignature(['other'], body, v.x_hub_signature_256)).toBe(false);
  });

  it('agrees with octokit’s signing function over raw bytes, including non-ASCII', async () => {
    const body = '{"msg":"héllo ♥ \\u001b[0m"}';
    const signature = await sign('s3cret', body);
    expect(verifySignature(['s3cret'], Buffer.from(body), signature)).toBe(true);
    const changed = Buffer.from(body);
    changed[3] = changed[3]! ^ 0x20;
    expect(verifySignature(['s3cret'], changed, signature)).toBe(false);
  });

  it('accepts only the exact shape GitHub sends', () => {
    const good = signBody('k', 'x');
    expect(isWellFormedSignature(good)).toBe(true);
    for (const bad of [
      undefined,
      '',
      good.toUpperCase(),
      good.replace('sha256=', 'sha1='),
      good.slice(7),
      good + 'a',
      good.slice(0, -1),
    ]) {
      expect(isWellFormedSignature(bad)).toBe(false);
      expect(verifySignature(['k'], Buffer.from('x'), bad)).toBe(false);
    }
  });
});
