import { afterEach, describe, expect, it } from 'vitest';
import { planManualRollback } from '../../../src/deploy/plan-manual-rollback.js';
import { runDeploy } from '../../../src/deploy/run-deploy.js';
import { DeployCancelled } from '../../../src/errors.js';
import { listPathHistory, readLive } from '../../../src/gitops/read-live.js';
import { revertAppEnv } from '../../../src/gitops/revert-app-env.js';
import { APP, ENV_PATH, startDeployHarness, type Harness, type Scenario } from './deploy-harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(scenario: Partial<Scenario> = {}): Promise<Harness> {
  h = await startDeployHarness(scenario);
  return h;
}

const actions = (x: Harness) => x.argo.actions.map((a) => a.body.action as string);
const syncedRevisions = (x: Harness) => x.argo.syncs.map((s) => s.body.revision as string);

/** What a rollback must leave behind: git reverted, Argo CD on the revert, the Rollout back on stable. */
async function expectRolledBack(x: Harness, revertCommit: string) {
  const live = await readLive(x.gitops, { path: ENV_PATH });
  expect(live).toMatchObject({
    commit: revertCommit,
    reverts: x.releaseCommit,
    image: 'ghcr.io/acme/web:v1.0.0',
  });
  expect(await x.repo.head()).toBe(revertCommit);
  expect(x.argo.application(APP).status.sync).toMatchObject({ status: 'Synced', revision: revertCommit });
  expect(x.statuses.at(-1)?.state).toBe('failure');
  expect(x.events.map((e) => e.type)).toContain('rolled-back');
  await x.until(() => x.rollout().status.phase === 'Healthy', 'the Rollout back on stable');
}

describe('runDeploy against Argo CD and Kubernetes stand-ins, with a real env repo', () => {
  it('a healthy promotion: sync, pre-promotion analysis, ZAP, resume, post-promotion, Healthy', async () => {
    const x = await start();
    const result = await runDeploy(x.input(), x.ports(), { pollIntervalMs: 25 });
    expect(result).toMatchObject({ outcome: 'succeeded', revision: x.releaseCommit });
    if (result.outcome !== 'succeeded') return;
    expect(result.gates.map((g) => [g.gate, g.passed])).toEqual([
      ['sync', true],
      ['pre-promotion-analysis', true],
      ['zap', true],
      ['progress-deadline', true],
      ['post-promotion-analysis', true],
      ['application-health', true],
    ]);
    expect(syncedRevisions(x)).toEqual([x.releaseCommit]);
    expect(x.argo.syncs[0]!.body).toMatchObject({
      name: APP,
      prune: false,
      infos: [
        { name: 'shipgate-run', value: x.runId },
        { name: 'source-commit', value: expect.stringMatching(/^[0-9a-f]{40}$/) },
      ],
    });
    expect(actions(x)).toEqual(['resume']);
    expect(x.argo.actions[0]!.body).toMatchObject({
      namespace: 'web-production',
      resourceName: 'web',
      group: 'argoproj.io',
      version: 'v1alpha1',
      kind: 'Rollout',
    });
    expect(x.zapCalls).toEqual(['http://web-preview.web-production.svc']);
    expect(x.reverts).toEqual([]);
    expect(x.statuses.map((s) => s.state)).toEqual(['in_progress', 'in_progress', 'in_progress', 'success']);
    expect(x.events.map((e) => e.type)).toEqual(['synced', 'gates-passed', 'promoted', 'succeeded']);
    expect(x.argo.requests.every((r) => r.authorized)).toBe(true);
    // Watched through the Kubernetes API, as the README says.
    expect(x.kube.requests.some((r) => r.path.endsWith('/rollouts') && r.query.includes('watch=true'))).toBe(
      true,
    );
    expect(x.rollout().status).toMatchObject({ phase: 'Healthy' });
    // A retry after success changes nothing.
    expect(await runDeploy(x.input(), x.ports(), { pollIntervalMs: 25 })).toEqual(result);
    expect(actions(x)).toEqual(['resume']);
  });

  it('pre-promotion analysis fails: abort, revert commit, sync to it, deployment failure', async () => {
    const x = await start({ pre: 'Failed' });
    const result = await runDeploy(x.input(), x.ports(), { pollIntervalMs: 25 });
    expect(result).toMatchObject({
      outcome: 'rolled-back',
      gate: 'pre-promotion-analysis',
      aborted: true,
      revertSynced: true,
    });
    if (result.outcome !== 'rolled-back') return;
    expect(result.reason).toContain('metric "http-smoke" Failed (1 failed of 3), last value down');
    expect(actions(x)).toEqual(['abort']);
    expect(x.zapCalls).toEqual([]); // gates run in order: ZAP never saw a failed preview
    expect(x.reverts).toHaveLength(1);
    expect(x.reverts[0]).toMatchObject({
      badCommit: x.releaseCommit,
      app: 'web',
      environment: 'production',
      gate: 'pre-promotion-analysis',
    });
    expect(syncedRevisions(x)).toEqual([x.releaseCommit, result.revertCommit]);
    await expectRolledBack(x, result.revertCommit);
    expect(x.statuses.at(-1)!.description).toMatch(
      /^pre-promotion-analysis failed: AnalysisRun web-[0-9a-f]+-pre Failed/,
    );
    expect(x.statuses.at(-1)!.description.length).toBeLessThanOrEqual(140);
  });

  it('when the controller already aborted the Rollout, no second abort is sent; git is still reverted', async () => {
    const x = await start({ pre: 'Failed', controllerAbortsOnPreFailure: true });
    const result = await runDeploy(x.input(), x.ports(), { pollIntervalMs: 25 });
    expect(result).toMatchObject({ outcome: 'rolled-back', gate: 'pre-promotion-analysis' });
    if (result.outcome !== 'rolled-back') return;
    await expectRolledBack(x, result.revertCommit);
    // Whether the abort raced the controller's or not, at most one was sent.
    expect(actions(x).filter((a) => a === 'abort').length).toBeLessThanOrEqual(1);
  });

  it('ZAP finds a high-risk alert on the preview: abort and revert, with the alert as reason', async () => {
    const summary =
      'ZAP: 1 high-risk alert: SQL Injection (40018) at http://web-preview.web-production.svc/search?q=';
    const x = await start({ zap: { passed: false, summary } });
    const result = await runDeploy(x.input(), x.ports(), { pollIntervalMs: 25 });
    expect(result).toMatchObject({ outcome: 'rolled-back', gate: 'zap', reason: summary, aborted: true });
    if (result.outcome !== 'rolled-back') return;
    expect(result.gates.map((g) => [g.gate, g.passed])).toEqual([
      ['sync', true],
      ['pre-promotion-analysis', true],
      ['zap', false],
    ]);
    expect(actions(x)).toEqual(['abort']);
    await expectRolledBack(x, result.revertCommit);
  });

  it('post-promotion analysis fails: resume, then abort and revert', async () => {
    const x = await start({ post: 'Failed' });
    const result = await runDeploy(x.input(), x.ports(), { pollIntervalMs: 25 });
    expect(result).toMatchObject({ outcome: 'rolled-back', gate: 'post-promotion-analysis' });
    if (result.outcome !== 'rolled-back') return;
    expect(result.reason).toContain('metric "error-rate" Failed (1 failed of 3), last value [0.12]');
    expect(actions(x)).toEqual(['resume', 'abort']);
    await expectRolledBack(x, result.revertCommit);
  });

  it('progress deadline exceeded (injected clock): the Rollout never pauses', async () => {
    const x = await start({ neverPause: true });
    const done = runDeploy(x.input({ progressDeadlineSeconds: 120 }), x.ports(), { pollIntervalMs: 25 });
    await x.until(() => x.rollout().status.phase === 'Progressing', 'the new ReplicaSet to start');
    x.clock.offset = 121_000;
    const result = await done;
    expect(result).toMatchObject({ outcome: 'rolled-back', gate: 'progress-deadline', aborted: true });
    if (result.outcome !== 'rolled-back') return;
    expect(result.reason).toMatch(/not Healthy before the deploy deadline/);
    expect(actions(x)).toEqual(['abort']);
    await expectRolledBack(x, result.revertCommit);
  });

  it('the sync fails: no abort (the Rollout never changed), revert and sync to it', async () => {
    const x = await start();
    x.argo.onSync(APP, (revision) =>
      revision === x.releaseCommit
        ? {
            result: 'Failed',
            message: 'one or more objects failed to apply, reason: admission webhook denied the request',
          }
        : {},
    );
    const result = await runDeploy(x.input(), x.ports(), { pollIntervalMs: 25 });
    expect(result).toMatchObject({
      outcome: 'rolled-back',
      gate: 'sync',
      aborted: false,
      revertSynced: true,
      reason: 'Failed: one or more objects failed to apply, reason: admission webhook denied the request',
    });
    if (result.outcome !== 'rolled-back') return;
    expect(actions(x)).toEqual([]);
    await expectRolledBack(x, result.revertCommit);
  });

  it('Argo CD unreachable for a while mid-deploy (resets, then 503s), then it recovers', async () => {
    const x = await start({ stepMs: 40 });
    // Counted, not timed: on a loaded machine a timed window can fall between two retries.
    x.argo.onSynced(() => x.argo.failNextRequests(['reset', 'reset', '503', '503']));
    const result = await runDeploy(x.input(), x.ports(), { pollIntervalMs: 25 });
    expect(result).toMatchObject({ outcome: 'succeeded' });
    expect(x.argo.requests.some((r) => r.answered === -1)).toBe(true);
    expect(x.argo.requests.some((r) => r.answered === 503)).toBe(true);
    // The resume is claimed once; only the attempt that got through reached the controller.
    expect(actions(x)).toEqual(['resume']);
    expect(syncedRevisions(x)).toEqual([x.releaseCommit]);
  });

  it('Argo CD hangs on the Application read after a Healthy rollout: not checked, not rolled back', async () => {
    const x = await start();
    const appReads = () =>
      x.argo.requests.filter((r) => r.method === 'GET' && r.path === `/api/v1/applications/${APP}`).length;
    let readsBefore = 0;
    const result = await runDeploy(x.input(), x.ports(), {
      pollIntervalMs: 25,
      // The harness's client tries 3 times for 2 s each; the read's own budget ends it first.
      applicationReadMs: 300,
      onStep: (event) => {
        if (event.type === 'start' && event.step === 'application-health') {
          readsBefore = appReads();
          x.argo.hangApplicationReads(true);
        }
      },
    });
    expect(result).toMatchObject({ outcome: 'succeeded' });
    if (result.outcome !== 'succeeded') return;
    expect(result.gates.at(-1)).toMatchObject({
      gate: 'application-health',
      passed: true,
      summary: 'not checked: Argo CD unreachable',
    });
    // One read, abandoned at the budget: not the client's retries, which in production (5 tries
    // of 15 s) outlast the step's 60 s deadline and made a hung Argo CD a failed check.
    expect(appReads() - readsBefore).toBe(1);
    expect(actions(x)).toEqual(['resume']);
    expect(x.statuses.at(-1)?.state).toBe('success');
  });

  it('a worker killed mid-watch resumes with no second action', async () => {
    const x = await start({ holdPost: true });
    const first = new AbortController();
    x.argo.onAction(({ body }) => {
      if (body.action === 'resume') setTimeout(() => first.abort(new Error('SIGTERM')), 50);
    });
    await expect(
      runDeploy(x.input(), x.ports(), { pollIntervalMs: 25, signal: first.signal }),
    ).rejects.toSatisfy((err) => DeployCancelled.is(err));
    expect(actions(x)).toEqual(['resume']);
    // The retried job (a new worker) picks up the same run.
    const second = runDeploy(x.input(), x.ports(), { pollIntervalMs: 25 });
    await x.until(() => x.kube.openWatchCount() >= 2, 'the second worker to watch');
    x.finishPost();
    const result = await second;
    expect(result).toMatchObject({ outcome: 'succeeded' });
    expect(actions(x)).toEqual(['resume']);
    expect(syncedRevisions(x)).toEqual([x.releaseCommit]);
    expect(x.zapCalls).toHaveLength(1);
    expect(x.statuses.filter((s) => s.state === 'success')).toHaveLength(1);
  });

  it('a worker killed during the rollback finishes it without a second abort or revert', async () => {
    const x = await start({ pre: 'Failed' });
    const first = new AbortController();
    const ports = x.ports();
    const revert = ports.revert;
    ports.revert = async (reason) => {
      const r = await revert(reason);
      first.abort(new Error('SIGKILL after the push'));
      return r;
    };
    await expect(runDeploy(x.input(), ports, { pollIntervalMs: 25, signal: first.signal })).rejects.toSatisfy(
      (err) => DeployCancelled.is(err),
    );
    const result = await runDeploy(x.input(), x.ports(), { pollIntervalMs: 25 });
    expect(result).toMatchObject({ outcome: 'rolled-back', gate: 'pre-promotion-analysis' });
    expect(actions(x)).toEqual(['abort']);
    expect(x.reverts).toHaveLength(1);
    if (result.outcome === 'rolled-back') await expectRolledBack(x, result.revertCommit);
  });

  it('a manual rollback to a tag: plan from the env repo history, restore, deploy through the gates', async () => {
    const x = await start();
    expect(await runDeploy(x.input(), x.ports(), { pollIntervalMs: 25 })).toMatchObject({
      outcome: 'succeeded',
    });
    const history = await listPathHistory(x.gitops, { path: ENV_PATH, limit: 20 });
    const plan = planManualRollback({
      liveCommits: history.map((c) => ({ sha: c.commit, trailers: c.trailers })),
      to: 'v1.0.0',
    });
    expect(plan.target).toMatchObject({ sha: x.goodCommit, tag: 'v1.0.0', image: 'ghcr.io/acme/web:v1.0.0' });
    expect(plan.current).toEqual({ sha: x.releaseCommit });
    const rollbackRun = `${x.runId}-rollback`;
    const restored = await revertAppEnv(x.gitops, {
      path: ENV_PATH,
      badCommit: plan.current!.sha,
      toCommit: plan.target.sha,
      runId: rollbackRun,
      reason: 'manual rollback to v1.0.0',
      app: 'web',
      env: 'production',
    });
    expect(restored.status).toBe('reverted');
    const result = await runDeploy(
      x.input({ runId: rollbackRun, revision: restored.commit!, sourceCommit: plan.target.sourceCommit! }),
      x.ports({ steps: x.stepsFor(rollbackRun) }),
      { pollIntervalMs: 25 },
    );
    expect(result).toMatchObject({ outcome: 'succeeded', revision: restored.commit });
    expect(x.rollout().spec.template.spec.containers[0].image).toBe('ghcr.io/acme/web:v1.0.0');
    expect(actions(x)).toEqual(['resume', 'resume']);
  });
});
