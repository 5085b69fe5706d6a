import { describe, expect, it } from 'vitest';
import { buildTimeline } from '../../../src/runs/run-timeline.js';
import type { Run, RunEvent } from '../../../src/runs/run-types.js';

const run: Run = {
  id: '01M8ZFX74JFYW9GVWDA2CKDJ2H',
  kind: 'release',
  repo: 'acme/web',
  installationId: 1,
  sha: 'b'.repeat(40),
  ref: 'refs/tags/v1.1.0',
  tag: 'v1.1.0',
  app: 'web',
  releaser: 'rita',
  state: 'rolled-back',
  currentEnv: 'production',
  createdAt: '2026-12-04T03:00:00.000Z',
  updatedAt: '2026-12-04T03:01:00.000Z',
  version: 20,
  gates: {},
  approvals: [
    { env: 'production', slackUserId: 'U0AVI', at: '2026-12-04T03:00:32.000Z', decision: 'approve' },
  ],
  reason: 'analysis failed',
};

let seq = 0;
const ev = (at: string, type: string, message: string, extra: Partial<RunEvent> = {}): RunEvent => ({
  seq: ++seq,
  at: `2026-12-04T03:00:${at}.000Z`,
  type,
  message,
  ...extra,
});
const tr = (at: string, from: Run['state'], to: Run['state'], env?: string) =>
  ev(at, 'state', `${from} → ${to}`, { transition: { from, to, ...(env ? { env } : {}) } });

describe('buildTimeline', () => {
  it('folds a release that was rolled back in production into ordered stages', () => {
    const events = [
      ev('00', 'created', 'release run created', { data: { sha: run.sha } }),
      tr('01', 'queued', 'gating'),
      ev('05', 'gate', 'tests: success', {
        data: { gate: 'tests', conclusion: 'success', title: 'Tests passed' },
      }),
      tr('08', 'gating', 'deploying', 'staging'),
      ev('19', 'commit', 'staging: pushed', { data: { env: 'staging', commit: 'c'.repeat(40) } }),
      ev('20', 'synced', 'Argo CD synced'),
      tr('29', 'deploying', 'verifying', 'staging'),
      tr('30', 'verifying', 'awaiting-approval', 'production'),
      ev('30', 'approval-requested', 'approval requested', { data: { env: 'production' } }),
      tr('33', 'awaiting-approval', 'deploying', 'production'),
      ev('42', 'gate', 'zap: success', { data: { gate: 'zap', conclusion: 'success' } }),
      tr('50', 'deploying', 'rolled-back', 'production'),
    ];
    const stages = buildTimeline(run, events);
    expect(stages.map((s) => [s.name, s.outcome])).toEqual([
      ['trigger', 'success'],
      ['gate:tests', 'success'],
      ['deploy:staging', 'success'],
      ['commit:staging', 'success'],
      ['approval:production', 'approved'],
      ['deploy:production', 'rolled-back'],
      ['gate:zap', 'success'],
    ]);
    const approval = stages.find((s) => s.name === 'approval:production')!;
    expect(approval).toMatchObject({
      startedAt: '2026-12-04T03:00:30.000Z',
      endedAt: '2026-12-04T03:00:33.000Z',
    });
    expect(approval.detail.approvals).toEqual([
      { by: 'U0AVI', at: '2026-12-04T03:00:32.000Z', decision: 'approve' },
    ]);
    // A gate during a deploy starts with that deploy, not with the run.
    expect(stages.find((s) => s.name === 'gate:zap')).toMatchObject({
      env: 'production',
      startedAt: '2026-12-04T03:00:33.000Z',
    });
    expect(stages.find((s) => s.name === 'deploy:staging')!.steps.map((s) => s.type)).toContain('synced');
    expect(stages.at(-1)!.detail.reason).toBe('analysis failed');
  });
});
