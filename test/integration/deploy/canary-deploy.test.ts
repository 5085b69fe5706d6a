/**
 * The canary strategy through the real Argo CD client and the Kubernetes watch, against the
 * stand-ins, with sandbox/rollout-controller-sim.ts walking argocd/rollout-canary/rollout.yaml
 * (setWeight 10 → pause → 25 → inline analysis → pause → 50 → pause → 75 → pause).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runDeploy, type DeployResult } from '../../../src/deploy/run-deploy.js';
import { readLive } from '../../../src/gitops/read-live.js';
import {
  APP,
  CANARY_ROLLOUT,
  ENV_PATH,
  startDeployHarness,
  type Harness,
  type Scenario,
} from './deploy-harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const CANARY_URL = 'http://web-canary.web-production.svc';
const canaryInput = (x: Harness, stepDeadlineSeconds = 60) =>
  x.input({
    strategy: 'canary',
    canary: { steps: CANARY_ROLLOUT.spec.strategy.canary.steps, serviceUrl: CANARY_URL, stepDeadlineSeconds },
  });
const actions = (x: Harness) => x.argo.actions.map((a) => a.body.action as string);

async function start(canary: Scenario['canary'] = {}, scenario: Partial<Scenario> = {}) {
  h = await startDeployHarness({ canary, ...scenario });
  return h;
}

/** Abort where it applies, the revert commit, a sync to it, the deployment failed, people told. */
async function expectRolledBack(x: Harness, result: DeployResult) {
  expect(result.outcome).toBe('rolled-back');
  if (result.outcome !== 'rolled-back') return;
  expect(await readLive(x.gitops, { path: ENV_PATH })).toMatchObject({
    commit: result.revertCommit,
    reverts: x.releaseCommit,
    image: 'ghcr.io/acme/web:v1.0.0',
  });
  expect(await x.repo.head()).toBe(result.revertCommit);
  expect(x.argo.application(APP).status.sync).toMatchObject({
    status: 'Synced',
    revision: result.revertCommit,
  });
  expect(result.revertSynced).toBe(true);
  expect(x.statuses.at(-1)?.state).toBe('failure');
  expect(x.events.map((e) => e.type)).toEqual(expect.arrayContaining(['gate-failed', 'rolled-back']));
  await x.until(() => x.rollout().status.phase === 'Healthy', 'the Rollout back on stable');
  expect(x.rollout().status.canary.weights.stable.weight).toBe(100);
}

describe('canary deploys', () => {
  it('promotes step by step: each pause gated (analysis, ZAP on the canary), weights from the status', async () => {
    const x = await start();
    const result = await runDeploy(canaryInput(x), x.ports(), { pollIntervalMs: 25 });
    expect(result).toMatchObject({ outcome: 'succeeded', revision: x.releaseCommit });
    expect(actions(x)).toEqual(['resume', 'resume', 'resume', 'resume']);
    expect(x.zapCalls).toEqual([CANARY_URL, CANARY_URL, CANARY_URL, CANARY_URL]);
    const promoted = x.events.filter((e) => e.type === 'canary-promoted');
    expect(promoted.map((e) => (e as { weight: number }).weight)).toEqual([10, 25, 50, 75]);
    expect(promoted.map((e) => (e as { step: number }).step)).toEqual([1, 2, 3, 4]);
    if (result.outcome !== 'succeeded') return;
    expect(result.gates.map((g) => g.gate)).toEqual([
      'sync',
      'analysis',
      'zap',
      'analysis',
      'zap',
      'analysis',
      'zap',
      'analysis',
      'zap',
      'analysis',
      'application-health',
    ]);
    expect(result.gates[1]!.summary).toBe('step 1 of 4: canary at 10%, analysis passing');
    expect(x.rollout().status).toMatchObject({ phase: 'Healthy', currentStepIndex: 9 });
    expect(x.sim!.healthyImages(APP)).toEqual(['ghcr.io/acme/web:v1.0.0', 'ghcr.io/acme/web:v2.0.0']);
    expect(x.statuses.at(-1)?.state).toBe('success');
    expect(x.reverts).toEqual([]);
  });

  it('the inline analysis fails at step 2 of 4: abort, revert commit, sync to it, deployment failed', async () => {
    const x = await start({ stepAnalysis: { 3: 'Failed' } });
    const result = await runDeploy(canaryInput(x), x.ports(), { pollIntervalMs: 25 });
    expect(result).toMatchObject({ outcome: 'rolled-back', gate: 'analysis' });
    if (result.outcome !== 'rolled-back') return;
    expect(result.reason).toMatch(/AnalysisRun web-[0-9a-f]+-step-3 Failed: metric "error-rate" Failed/);
    // Step 1 was promoted; step 2 never was. The controller may have aborted first: at most one abort.
    expect(actions(x).filter((a) => a === 'resume')).toHaveLength(1);
    expect(actions(x).filter((a) => a === 'abort').length).toBeLessThanOrEqual(1);
    expect(x.zapCalls).toHaveLength(1);
    await expectRolledBack(x, result);
  });

  it('ZAP finds a high-risk alert on the canary: abort at once, then revert', async () => {
    const summary =
      'ZAP: 1 high-risk alert: SQL Injection (40018) at http://web-canary.web-production.svc/search';
    const x = await start({}, { zap: { passed: false, summary } });
    const result = await runDeploy(canaryInput(x), x.ports(), { pollIntervalMs: 25 });
    expect(result).toMatchObject({
      outcome: 'rolled-back',
      gate: 'zap',
      reason: `step 1 of 4: ${summary}`,
      aborted: true,
    });
    expect(actions(x)).toEqual(['abort']);
    await expectRolledBack(x, result);
  });

  it('a step that misses its deadline (pods never ready): abort, revert', async () => {
    const x = await start({ stallAtStep: 2 });
    const result = await runDeploy(canaryInput(x, 2), x.ports(), { pollIntervalMs: 25 });
    expect(result).toMatchObject({
      outcome: 'rolled-back',
      gate: 'progress-deadline',
      reason: 'canary-2-pause did not finish within 2s',
      aborted: true,
    });
    expect(actions(x)).toEqual(['resume', 'abort']);
    await expectRolledBack(x, result);
  });

  it('the Background analysis fails during a pause: abort, revert', async () => {
    // Each pause's ZAP scan takes 300 ms, so the canary is still in its pauses at 400 ms however
    // fast the machine is.
    const x = await start({ background: 'Failed', backgroundAfterMs: 400 }, { zapDelayMs: 300 });
    const result = await runDeploy(canaryInput(x), x.ports(), { pollIntervalMs: 25 });
    expect(result).toMatchObject({ outcome: 'rolled-back', gate: 'analysis', aborted: true });
    if (result.outcome !== 'rolled-back') return;
    expect(result.reason).toMatch(/AnalysisRun web-[0-9a-f]+-background Failed/);
    await expectRolledBack(x, result);
  });
});
