/**
 * The rolling strategy through the real Argo CD client and the Kubernetes watch (apps/v1
 * Deployments), against the stand-ins, with sandbox/deployment-controller-sim.ts rolling out
 * argocd/rolling/deployment.yaml. No Rollout exists anywhere in these tests.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runDeploy, type DeployResult } from '../../../src/deploy/run-deploy.js';
import { readLive } from '../../../src/gitops/read-live.js';
import { APP, ENV_PATH, NS, startDeployHarness, type Harness, type Scenario } from './deploy-harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(rolling: Scenario['rolling'] = {}, scenario: Partial<Scenario> = {}) {
  h = await startDeployHarness({ rolling, ...scenario });
  return h;
}
const rollingInput = (x: Harness) => x.input({ strategy: 'rolling', previewUrl: undefined });

/** The revert commit, a sync to it, the deployment marked failed, people told; nothing aborted. */
async function expectRolledBack(x: Harness, result: DeployResult) {
  expect(result.outcome).toBe('rolled-back');
  if (result.outcome !== 'rolled-back') return;
  expect(await readLive(x.gitops, { path: ENV_PATH })).toMatchObject({
    commit: result.revertCommit,
    reverts: x.releaseCommit,
  });
  expect(await x.repo.head()).toBe(result.revertCommit);
  expect(await x.repo.show(result.revertCommit, `${ENV_PATH}/deployment-web.yaml`)).toContain(
    'image: ghcr.io/acme/web:v1.0.0',
  );
  expect(x.argo.application(APP).status.sync).toMatchObject({
    status: 'Synced',
    revision: result.revertCommit,
  });
  expect(result).toMatchObject({ revertSynced: true, aborted: false });
  expect(x.argo.actions).toEqual([]);
  expect(x.statuses.at(-1)?.state).toBe('failure');
  expect(x.events.map((e) => e.type)).toEqual(expect.arrayContaining(['gate-failed', 'rolled-back']));
  expect(x.reverts).toHaveLength(1);
  // The controller rolls the revert out like any update: v1 again, every replica available.
  await x.until(
    () =>
      x.deploymentSim!.rolledOutImages(APP).at(-1) === 'ghcr.io/acme/web:v1.0.0' &&
      x.deploymentSim!.rolledOutImages(APP).length === 2,
    'the Deployment back on v1',
  );
  expect(x.deployment()!.status).toMatchObject({ updatedReplicas: 3, availableReplicas: 3 });
}

describe('rolling deploys (a plain Deployment)', () => {
  it('rolls out: waits for every replica updated and available, then Argo CD health; no Rollout involved', async () => {
    const x = await start();
    const result = await runDeploy(rollingInput(x), x.ports(), { pollIntervalMs: 25 });
    expect(result).toMatchObject({ outcome: 'succeeded', revision: x.releaseCommit });
    if (result.outcome !== 'succeeded') return;
    expect(result.gates).toEqual([
      { gate: 'sync', passed: true, summary: `synced ${x.releaseCommit.slice(0, 12)}` },
      {
        gate: 'deployment-progress',
        passed: true,
        summary: 'Deployment web: 3 of 3 replicas updated and available',
      },
      { gate: 'application-health', passed: true, summary: 'Application Healthy' },
    ]);
    expect(x.deploymentSim!.rolledOutImages(APP)).toEqual([
      'ghcr.io/acme/web:v1.0.0',
      'ghcr.io/acme/web:v2.0.0',
    ]);
    expect(x.deployment()!.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'Progressing', reason: 'NewReplicaSetAvailable' }),
    );
    expect(x.kube.objects('rollouts', NS)).toEqual([]);
    expect(x.kube.requests.some((r) => r.path.includes('argoproj.io'))).toBe(false);
    expect(x.argo.actions).toEqual([]);
    expect(x.zapCalls).toEqual([]);
    expect(x.statuses.at(-1)?.state).toBe('success');
    expect(x.reverts).toEqual([]);
  });

  it('a degraded Deployment (its pods cannot be created): revert commit, sync to it, deployment failed', async () => {
    const x = await start({ outcome: 'replica-failure' });
    const result = await runDeploy(rollingInput(x), x.ports(), { pollIntervalMs: 25 });
    expect(result).toMatchObject({ outcome: 'rolled-back', gate: 'deployment-degraded' });
    if (result.outcome !== 'rolled-back') return;
    expect(result.reason).toMatch(
      /^Deployment web is Degraded: FailedCreate: pods "web-[0-9a-f]+-" is forbidden: exceeded quota/,
    );
    await expectRolledBack(x, result);
  });

  it("the Deployment's progressDeadlineSeconds passes (new pods never ready): revert commit, failed", async () => {
    const x = await start({ outcome: 'stall' }, { deploymentSpec: { progressDeadlineSeconds: 1 } });
    const result = await runDeploy(rollingInput(x), x.ports(), { pollIntervalMs: 25 });
    expect(result).toMatchObject({ outcome: 'rolled-back', gate: 'progress-deadline' });
    if (result.outcome !== 'rolled-back') return;
    expect(result.reason).toMatch(
      /^Deployment web exceeded its progress deadline \(1s\): ReplicaSet "web-[0-9a-f]+" has timed out progressing\.$/,
    );
    await expectRolledBack(x, result);
  });
});
