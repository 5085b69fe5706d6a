import { describe, expect, it } from 'vitest';
import { decodeButtonValue, encodeButtonValue, newApprovalNonce } from '../../../src/slack/button-value.js';
import { ApprovalValueInvalid } from '../../../src/errors.js';

describe('approval button values', () => {
  it('round-trips run, environment, nonce and decision compactly', () => {
    const nonce = newApprovalNonce();
    for (const decision of ['approve', 'reject'] as const) {
      const value = { runId: '01J9Z8RUNID', env: 'production', nonce, decision };
      const encoded = encodeButtonValue(value);
      expect(encoded.length).toBeLessThan(120);
      expect(decodeButtonValue(encoded)).toEqual(value);
    }
  });

  it('makes 128-bit unguessable nonces', () => {
    const nonces = new Set(Array.from({ length: 1000 }, () => newApprovalNonce()));
    expect(nonces.size).toBe(1000);
    expect([...nonces][0]).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it.each([
    ['not JSON', 'approve'],
    ['an unknown version', '{"v":2,"r":"a","e":"b","n":"AAAAAAAAAAAAAAAAAAAAAA","d":"a"}'],
    ['an extra key', '{"v":1,"r":"a","e":"b","n":"AAAAAAAAAAAAAAAAAAAAAA","d":"a","u":"U1"}'],
    ['a short nonce', '{"v":1,"r":"a","e":"b","n":"short","d":"a"}'],
    ['an unknown decision', '{"v":1,"r":"a","e":"b","n":"AAAAAAAAAAAAAAAAAAAAAA","d":"x"}'],
    ['too long', 'x'.repeat(2001)],
  ])('refuses %s', (_label, raw) => {
    expect(() => decodeButtonValue(raw)).toThrow(
      expect.objectContaining({ code: ApprovalValueInvalid.code }),
    );
  });

  it('refuses to encode values it could not decode', () => {
    expect(() =>
      encodeButtonValue({ runId: '', env: 'production', nonce: newApprovalNonce(), decision: 'approve' }),
    ).toThrow(expect.objectContaining({ code: ApprovalValueInvalid.code }));
  });
});
