import { describe, expect, it } from 'vitest';
import {
  currentAnalysisRuns,
  describeAnalysisRun,
  evaluateRollout,
  isObserved,
  rolloutPhase,
} from '../../../src/deploy/evaluate-rollout.js';
import type { AnalysisRun, Rollout } from '../../../src/deploy/schema.js';
import { analysisRunFixture, rolloutFixture } from './fixtures.js';

const now = Date.parse('2019-10-28T05:00:00Z');

/** The paused blue-green fixture, given pre/post-promotion analysis in its spec. */
function pausedWithAnalysis(): Rollout {
  const r = rolloutFixture('status-bluegreen-paused-awaiting-promotion.yaml');
  r.spec!.strategy!.blueGreen!.prePromotionAnalysis = { templates: [{ templateName: 'smoke' }] };
  r.spec!.strategy!.blueGreen!.postPromotionAnalysis = { templates: [{ templateName: 'error-rate' }] };
  return r;
}

/** A fixture AnalysisRun re-parented onto `rollout`'s current revision, as the controller labels them. */
function runFor(rollout: Rollout, file: string, type: string, name: string, phase?: string): AnalysisRun {
  const run = analysisRunFixture(file);
  run.metadata.name = name;
  run.metadata.labels = {
    'rollout-type': type,
    'rollouts-pod-template-hash': rollout.status!.currentPodHash!,
  };
  run.metadata.ownerReferences = [
    {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      name: rollout.metadata.name,
      uid: rollout.metadata.uid!,
      controller: true,
    },
  ];
  if (phase) run.status = { ...run.status, phase };
  return run;
}

describe('evaluateRollout on the Argo Rollouts status fixtures', () => {
  it('status-bluegreen-paused-awaiting-promotion: BlueGreenPause → awaiting promotion, no analysis configured', () => {
    const r = rolloutFixture('status-bluegreen-paused-awaiting-promotion.yaml');
    expect(rolloutPhase(r)).toBe('Paused'); // derived: this older status has no `phase`
    expect(evaluateRollout(r, [], { now })).toEqual({
      phase: 'Paused',
      stage: 'awaiting-promotion',
      prePromotion: { phase: 'None' },
      previewSelector: '74b948fccb',
      pausedSince: '2019-10-28T04:50:20Z',
    });
  });

  it('status-bluegreen-aborted: status.abort + RolloutAborted → failed, Degraded', () => {
    const r = rolloutFixture('status-bluegreen-aborted.yaml');
    expect(isObserved(r)).toBe(true); // "abc123" is not a generation number
    expect(evaluateRollout(r, [], { now })).toEqual({
      phase: 'Degraded',
      stage: 'failed',
      gate: 'rollout-aborted',
      reason: 'Rollout is aborted',
    });
  });

  it('status-canary-aborted-by-analysis + analysisrun-failed: names the failing metric', () => {
    const r = rolloutFixture('status-canary-aborted-by-analysis.yaml');
    const run = analysisRunFixture('analysisrun-failed.yaml');
    expect(currentAnalysisRuns(r, [run]).map((x) => x.metadata.name)).toEqual([
      'rollout-background-analysis-db976bc44-2',
    ]);
    const v = evaluateRollout(r, [run], { now });
    expect(v).toMatchObject({ phase: 'Degraded', stage: 'failed', gate: 'analysis' });
    expect(v.stage === 'failed' && v.reason).toBe(
      'AnalysisRun rollout-background-analysis-db976bc44-2 Failed: metric "web" Failed (1 failed of 1), last value false',
    );
  });

  it('status-canary-aborted-by-analysis without the run: falls back to the Rollout pointer', () => {
    const v = evaluateRollout(rolloutFixture('status-canary-aborted-by-analysis.yaml'), [], { now });
    expect(v).toMatchObject({
      stage: 'failed',
      gate: 'analysis',
      reason: 'metric "web" assessed Failed due to failed (1) > failureLimit (0)',
    });
  });

  it('status-canary-phase-paused: a canary step pause is not a blue-green gate', () => {
    expect(evaluateRollout(rolloutFixture('status-canary-phase-paused.yaml'), [], { now })).toEqual({
      phase: 'Paused',
      stage: 'paused',
      reason: 'CanaryPauseStep',
    });
  });

  it('status-phase-degraded: Degraded fails with the controller message (legacy observedGeneration)', () => {
    const r = rolloutFixture('status-phase-degraded.yaml');
    expect(r.status?.conditions).toEqual([]); // `conditions: {}` in the fixture
    expect(evaluateRollout(r, [], { now })).toEqual({
      phase: 'Degraded',
      stage: 'failed',
      gate: 'rollout-degraded',
      reason: 'Rollout is Degraded: InvalidSpec',
    });
  });

  it('analysisrun-successful and analysisrun-failed describe themselves', () => {
    const ok = analysisRunFixture('analysisrun-successful.yaml');
    expect(describeAnalysisRun(ok)).toBe(
      'AnalysisRun canary-demo-analysis-template-6c6bb7cf6f-zvcmx Successful',
    );
    // Not owned by any Rollout: never attributed to one.
    expect(currentAnalysisRuns(rolloutFixture('status-canary-aborted-by-analysis.yaml'), [ok])).toEqual([]);
  });
});

describe('evaluateRollout: the blue-green gates', () => {
  it('waits for the pre-promotion run, then reports it Successful', () => {
    const r = pausedWithAnalysis();
    expect(evaluateRollout(r, [], { now })).toMatchObject({
      stage: 'awaiting-promotion',
      prePromotion: { phase: 'Pending' },
    });
    const running = runFor(r, 'analysisrun-successful.yaml', 'PrePromotion', 'pre-1', 'Running');
    expect(evaluateRollout(r, [running], { now })).toMatchObject({
      prePromotion: { phase: 'Running', run: 'pre-1' },
    });
    const ok = runFor(r, 'analysisrun-successful.yaml', 'PrePromotion', 'pre-1');
    expect(evaluateRollout(r, [ok], { now })).toMatchObject({
      prePromotion: { phase: 'Successful', run: 'pre-1' },
    });
  });

  it('a Failed or Error pre-promotion run fails the pre-promotion gate', () => {
    const r = pausedWithAnalysis();
    for (const phase of ['Failed', 'Error']) {
      const run = runFor(r, 'analysisrun-failed.yaml', 'PrePromotion', 'pre-2', phase);
      const v = evaluateRollout(r, [run], { now });
      expect(v).toMatchObject({ stage: 'failed', gate: 'pre-promotion-analysis' });
      expect(v.stage === 'failed' && v.reason).toContain('metric "web" Failed');
    }
  });

  it('a Failed pointer ahead of its run fails the gate, and says the detail is still on its way', () => {
    const r = pausedWithAnalysis();
    r.status!.blueGreen!.prePromotionAnalysisRunStatus = { name: 'pre-4', status: 'Failed' };
    // The Rollout stream delivered first: the run is not seen at all, or only while it ran.
    const stale = runFor(r, 'analysisrun-failed.yaml', 'PrePromotion', 'pre-4', 'Running');
    for (const runs of [[], [stale]]) {
      expect(evaluateRollout(r, runs, { now })).toEqual({
        phase: 'Paused',
        stage: 'failed',
        gate: 'pre-promotion-analysis',
        reason: 'PrePromotion analysis Failed',
        detailPending: true,
      });
    }
    // Once the run arrives Failed, the reason names its metric and nothing is pending.
    const arrived = runFor(r, 'analysisrun-failed.yaml', 'PrePromotion', 'pre-4');
    const v = evaluateRollout(r, [arrived], { now });
    expect(v).toMatchObject({ stage: 'failed', gate: 'pre-promotion-analysis' });
    expect(v.stage === 'failed' && v.reason).toContain('metric "web" Failed');
    expect(v).not.toHaveProperty('detailPending');
  });

  it('ignores runs of an older revision and of other Rollouts', () => {
    const r = pausedWithAnalysis();
    const old = runFor(r, 'analysisrun-failed.yaml', 'PrePromotion', 'pre-old');
    old.metadata.labels!['rollouts-pod-template-hash'] = '6cbccd9f99';
    const other = runFor(r, 'analysisrun-failed.yaml', 'PrePromotion', 'pre-other');
    other.metadata.ownerReferences![0]!.name = 'someone-else';
    expect(evaluateRollout(r, [old, other], { now })).toMatchObject({
      stage: 'awaiting-promotion',
      prePromotion: { phase: 'Pending' },
    });
  });

  it('Inconclusive waits for a person or fails, by configuration', () => {
    const r = pausedWithAnalysis();
    const run = runFor(r, 'analysisrun-successful.yaml', 'PrePromotion', 'pre-3', 'Inconclusive');
    expect(evaluateRollout(r, [run], { now, inconclusive: 'wait' })).toMatchObject({ stage: 'needs-person' });
    expect(evaluateRollout(r, [run], { now, inconclusive: 'fail' })).toMatchObject({
      stage: 'failed',
      gate: 'pre-promotion-analysis',
    });
  });

  it('fails the progress deadline, from the Rollout condition or from the deploy deadline', () => {
    const r = pausedWithAnalysis();
    expect(evaluateRollout(r, [], { now, deadlineAt: now - 61_000 })).toMatchObject({
      stage: 'failed',
      gate: 'progress-deadline',
      reason: 'Rollout not Healthy before the deploy deadline (61s over; phase Paused)',
    });
    r.status!.conditions.push({
      type: 'Progressing',
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
      message: 'ReplicaSet "x" has timed out progressing.',
    });
    expect(evaluateRollout(r, [], { now })).toMatchObject({
      phase: 'Degraded',
      gate: 'progress-deadline',
      reason: 'ReplicaSet "x" has timed out progressing.',
    });
  });

  it('waits while the controller has not observed the new spec', () => {
    const r = pausedWithAnalysis();
    r.metadata.generation = 411;
    expect(evaluateRollout(r, [], { now })).toMatchObject({ stage: 'waiting' });
  });

  it('after promotion: post-promotion analysis, then Healthy; a failed post run fails its gate', () => {
    const r = pausedWithAnalysis();
    r.status!.pauseConditions = [];
    r.status!.controllerPause = false;
    r.status!.blueGreen!.activeSelector = r.status!.currentPodHash;
    const post = runFor(r, 'analysisrun-successful.yaml', 'PostPromotion', 'post-1', 'Running');
    expect(evaluateRollout(r, [post], { now })).toMatchObject({
      phase: 'Progressing',
      stage: 'post-promotion',
      postPromotion: { phase: 'Running' },
    });
    const failed = runFor(r, 'analysisrun-failed.yaml', 'PostPromotion', 'post-1');
    expect(evaluateRollout(r, [failed], { now })).toMatchObject({
      stage: 'failed',
      gate: 'post-promotion-analysis',
    });
    r.status!.stableRS = r.status!.currentPodHash;
    const done = runFor(r, 'analysisrun-successful.yaml', 'PostPromotion', 'post-1');
    expect(evaluateRollout(r, [done], { now, deadlineAt: now - 1 })).toEqual({
      phase: 'Healthy',
      stage: 'healthy',
    });
  });
});
