import { describe, expect, it } from 'vitest';
import { decodeButtonValue } from '../../../src/slack/button-value.js';
import type { ApprovalMessageContent } from '../../../src/approvals/types.js';
import { renderApprovalMessage, type ApprovalMessageState } from '../../../src/slack/approval-message.js';

const content: ApprovalMessageContent = {
  runId: 'run-42',
  app: 'payments',
  version: 'v1.4.0',
  fromEnv: 'staging',
  toEnv: 'production',
  releaserLogin: 'carol<script>',
  gates: {
    tests: { status: 'passed', passed: 120, failed: 0, skipped: 3 },
    trivy: { critical: 0, high: 2, medium: 5, low: 11 },
    zap: { high: 0, medium: 1, low: 3, informational: 4 },
  },
  links: {
    checks: 'https://github.com/acme/payments/commit/abc/checks',
    envRepoDiff: 'https://github.com/acme/env/compare/a...b|evil',
    argocdApp: 'https://argocd.example.com/applications/payments-production',
    run: 'javascript:alert(1)',
  },
};
const open: ApprovalMessageState = {
  status: 'open',
  nonce: 'AAAAAAAAAAAAAAAAAAAAAA',
  required: 2,
  expiresAt: new Date('2025-06-03T10:00:00Z'),
  votes: [],
};
const text = (m: { blocks: unknown[] }) => JSON.stringify(m.blocks);

describe('renderApprovalMessage', () => {
  it('shows app, version, environments, gate counts and links', () => {
    const m = renderApprovalMessage(content, open);
    expect(m.text).toBe('Approval needed: payments v1.4.0: staging → production');
    const all = text(m);
    expect(all).toContain('Tests: passed (120 passed, 0 failed, 3 skipped)');
    expect(all).toContain('Trivy: critical 0 · high 2 · medium 5 · low 11');
    expect(all).toContain('ZAP: high 0 · medium 1 · low 3 · informational 4');
    expect(all).toContain('<https://github.com/acme/payments/commit/abc/checks|GitHub checks>');
    expect(all).toContain('<https://argocd.example.com/applications/payments-production|Argo CD app>');
    // A `|` cannot smuggle a label in, and non-http links are dropped.
    expect(all).toContain('compare/a...b%7Cevil|Env-repo diff>');
    expect(all).not.toContain('javascript:');
    expect(all).toContain('carol&lt;script&gt;');
    expect(all).toContain('Needs 2 approvals.');
  });

  it('has Approve (primary) and Reject (danger, confirmed) buttons bound to run, env and nonce', () => {
    const actions = renderApprovalMessage(content, open).blocks.find((b) => b.type === 'actions') as {
      elements: { action_id: string; style: string; value: string; confirm?: unknown }[];
    };
    const [approve, reject] = actions.elements;
    expect(approve).toMatchObject({ action_id: 'shipgate_approve', style: 'primary' });
    expect(reject).toMatchObject({ action_id: 'shipgate_reject', style: 'danger' });
    expect(approve?.confirm).toBeUndefined();
    expect(reject?.confirm).toMatchObject({ confirm: { text: 'Reject' }, deny: { text: 'Cancel' } });
    expect(decodeButtonValue(approve?.value ?? '')).toEqual({
      runId: 'run-42',
      env: 'production',
      nonce: open.nonce,
      decision: 'approve',
    });
    expect(decodeButtonValue(reject?.value ?? '').decision).toBe('reject');
  });

  it('shows progress while open, then who approved and when, without buttons', () => {
    const at1 = new Date('2025-06-02T10:00:00Z');
    const at2 = new Date('2025-06-02T10:05:00Z');
    const one = renderApprovalMessage(content, {
      ...open,
      votes: [{ userId: 'U0ALICE', decision: 'approve', at: at1 }],
    });
    expect(text(one)).toContain('1 of 2 approvals: <@U0ALICE>.');
    const done = renderApprovalMessage(content, {
      ...open,
      status: 'approved',
      decidedAt: at2,
      votes: [
        { userId: 'U0ALICE', decision: 'approve', at: at1 },
        { userId: 'U0BOB', decision: 'approve', at: at2 },
      ],
    });
    expect(done.blocks.some((b) => b.type === 'actions')).toBe(false);
    expect(text(done)).toContain(
      `*Approved* by <@U0ALICE> <!date^${at1.getTime() / 1000}^{date_short_pretty} {time}|2025-06-02T10:00:00.000Z>, <@U0BOB>`,
    );
  });

  it('shows a rejection, an expiry and a superseded request', () => {
    const at = new Date('2025-06-02T11:00:00Z');
    const rejected = renderApprovalMessage(content, {
      ...open,
      status: 'rejected',
      votes: [{ userId: 'U0BOB', decision: 'reject', at }],
    });
    expect(text(rejected)).toContain('*Rejected* by <@U0BOB>');
    expect(text(renderApprovalMessage(content, { ...open, status: 'expired', decidedAt: at }))).toContain(
      '*Expired*',
    );
    expect(
      text(
        renderApprovalMessage(content, { ...open, status: 'superseded', decidedBy: 'run-43', decidedAt: at }),
      ),
    ).toContain('*Superseded* by run `run-43`');
  });
});
