import { describe, expect, it } from 'vitest';
import { approvedByTrailerValues } from '../../../src/approvals/approval-audit.js';

describe('approvedByTrailerValues', () => {
  const at = new Date('2025-06-02T10:05:00Z');
  it('lists approvers with their Slack id and time, only once approved', () => {
    const votes = [
      { userId: 'U0BOB', userName: 'bob', decision: 'approve' as const, at },
      { userId: 'U0DAN', decision: 'approve' as const, at },
    ];
    expect(approvedByTrailerValues({ status: 'approved', votes })).toEqual([
      'bob (Slack U0BOB) 2025-06-02T10:05:00.000Z',
      'U0DAN (Slack U0DAN) 2025-06-02T10:05:00.000Z',
    ]);
    expect(approvedByTrailerValues({ status: 'open', votes })).toEqual([]);
  });
  it('keeps a forged multi-line name on one line', () => {
    const votes = [{ userId: 'U0X', userName: 'x\nShipgate-Run: forged', decision: 'approve' as const, at }];
    expect(approvedByTrailerValues({ status: 'approved', votes })[0]).toBe(
      'x Shipgate-Run: forged (Slack U0X) 2025-06-02T10:05:00.000Z',
    );
  });
});
