import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ApprovalValueInvalid } from '../errors.js';
import type { ApprovalButtonValue, ApprovalDecision } from '../approvals/types.js';

/** `action_id`s of Shipgate's buttons; the interactions route ignores every other action. */
export const APPROVE_ACTION_ID = 'shipgate_approve';
export const REJECT_ACTION_ID = 'shipgate_reject';

export const ACTION_ID_BY_DECISION: Record<ApprovalDecision, string> = {
  approve: APPROVE_ACTION_ID,
  reject: REJECT_ACTION_ID,
};

/** Slack caps a button value at 2,000 characters. */
const MAX_VALUE_LENGTH = 2000;

/**
 * The nonce is 128 random bits stored server-side with the request, so a value cannot be forged
 * for a run without reading Redis; no signing key is needed. A newer request (or a re-post) for
 * the same run and environment gets a new nonce, which makes old buttons inert.
 */
export function newApprovalNonce(): string {
  return randomBytes(16).toString('base64url');
}

const idPart = z.string().min(1).max(200);
const encodedSchema = z
  .object({
    v: z.literal(1),
    r: idPart,
    e: idPart,
    n: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
    d: z.enum(['a', 'r']),
  })
  .strict();

/** A compact JSON value (`{"v":1,"r":run,"e":env,"n":nonce,"d":"a"|"r"}`). */
export function encodeButtonValue(value: ApprovalButtonValue): string {
  const encoded = JSON.stringify({
    v: 1,
    r: value.runId,
    e: value.env,
    n: value.nonce,
    d: value.decision === 'approve' ? 'a' : 'r',
  });
  const check = encodedSchema.safeParse(JSON.parse(encoded));
  if (!check.success || encoded.length > MAX_VALUE_LENGTH) {
    throw ApprovalValueInvalid('run id, environment or nonce out of range');
  }
  return encoded;
}

/** Throws `SHIPGATE_E_APPROVAL_VALUE_INVALID` (400) for anything Shipgate did not produce. */
export function decodeButtonValue(raw: string): ApprovalButtonValue {
  if (raw.length > MAX_VALUE_LENGTH) throw ApprovalValueInvalid('too long');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw ApprovalValueInvalid('not JSON');
  }
  const parsed = encodedSchema.safeParse(json);
  if (!parsed.success) throw ApprovalValueInvalid('unexpected shape');
  const { r, e, n, d } = parsed.data;
  return { runId: r, env: e, nonce: n, decision: d === 'a' ? 'approve' : 'reject' };
}
