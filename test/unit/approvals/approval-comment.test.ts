import { describe, expect, it } from 'vitest';
import { APPROVAL_COMMENT_MAX_CHARS, approvalCommentOf } from '../../../src/approvals/approval-comment.js';

describe('approvalCommentOf', () => {
  it('keeps the text as text, trimmed, without control characters or token shapes', () => {
    expect(approvalCommentOf(`  <b>ok</b>\u0007 ghp_${'a1'.repeat(15)}\nsecond line `)).toBe(
      '<b>ok</b> [masked]\nsecond line',
    );
  });

  it('treats an empty or blank comment as none', () => {
    expect(approvalCommentOf(undefined)).toBeUndefined();
    expect(approvalCommentOf(' \n\t')).toBeUndefined();
  });

  it('is bounded, without cutting a surrogate pair', () => {
    const long = approvalCommentOf('😀'.repeat(400))!;
    expect(long.length).toBeLessThanOrEqual(APPROVAL_COMMENT_MAX_CHARS);
    expect(long.endsWith('…')).toBe(true);
    expect(long.slice(0, -1)).toBe('😀'.repeat((long.length - 1) / 2));
  });
});
