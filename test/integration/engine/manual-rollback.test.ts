import { readFileSync } from 'node:fs';
import type { RedisClient } from '../../../src/redis/connection.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createEngineContext } from '../../../src/engine/context/create-engine-context.js';
import type { EngineContext } from '../../../src/engine/context/engine-context.js';
import { runRollbackDeployStage } from '../../../src/engine/stages/deploy/rollback-deploy-stage.js';
import { startRollbackRun } from '../../../src/engine/triggers/start-rollback-run.js';
import { formatCommitMessage } from '../../../src/gitops/commit-message.js';
import { createLogger } from '../../../src/logger.js';
import { createRedisConnection } from '../../../src/redis/connection.js';
import { startArgoCdStandIn, type ArgoCdStandIn } from '../../../sandbox/argocd-stand-in.js';
import { installFakeScanners, type FakeScanners } from '../../support/fake-scanners/install.js';
import { startKubeApiStandIn, type KubeStandIn } from '../../../sandbox/kube-api-stand-in.js';
import { TEST_REDIS_URL } from '../../support/redis.js';
import { simulateRolloutController, type ControllerSim } from '../../../sandbox/rollout-controller-sim.js';
import {
  eventually,
  startHarness,
  WEB_PIPELINE,
  type Harness,
  fakeScannerMounts,
} from '../../support/shipgate-harness.js';
import { FIXTURES } from '../../support/fixtures.js';

/**
 * Issue 6, "Manual rollback": `shipgate rollback web production --to v1.0.0` (or the API) makes
 * a `rollback` run that restores v1's manifests as a new env-repo commit with rollback trailers
 * and deploys it through the same Argo CD sync and blue-green gates as a release.
 */
const API_TOKEN = 'rollback-test-api-token-0123456789';
const V2_SOURCE = 'b'.repeat(40);
let scanners: FakeScanners;
const originalPath = process.env.PATH;

beforeAll(() => {
  scanners = installFakeScanners();
  process.env.PATH = `${scanners.binDir}:${originalPath}`;
});
afterAll(() => {
  process.env.PATH = originalPath;
  scanners.cleanup();
});

const WEB_ROLLOUT = parse(readFileSync('test/fixtures/apps/web/deploy/base/rollout.yaml', 'utf8')) as {
  spec: { template: { spec: { containers: { image: string }[] } } };
};

function rolloutWith(image: string) {
  const rollout = structuredClone(WEB_ROLLOUT) as typeof WEB_ROLLOUT & { metadata: Record<string, unknown> };
  rollout.spec.template.spec.containers[0]!.image = image;
  rollout.metadata = { name: 'web', namespace: 'web-production' };
  return rollout;
}

describe('manual rollback', () => {
  let h: Harness;
  let kube: KubeStandIn;
  let argo: ArgoCdStandIn;
  let sim: ControllerSim;
  let redis: RedisClient;
  let ctx: EngineContext;
  let v1: string;
  let v2: string;

  /** production: v1.0.0 released (good), then v2.0.0 released and live in git and the cluster. */
  async function start(options: { pipeline?: string; workers?: boolean } = {}) {
    scanners.configure({ zap: { fixture: `${FIXTURES}/zap/baseline-zap2.14-medium-low-info.json` } });
    kube = await startKubeApiStandIn();
    argo = await startArgoCdStandIn();
    h = await startHarness({
      appFiles: { '.shipgate.yml': options.pipeline ?? WEB_PIPELINE },
      ...(options.workers ? {} : { workers: [] }),
      env: {
        ARGOCD_SERVER: argo.url,
        ARGOCD_TOKEN: argo.token,
        KUBECONFIG: kube.kubeconfigPath,
        SHIPGATE_API_TOKEN: API_TOKEN,
      },
    });
    sim = simulateRolloutController({
      kube,
      argo,
      readFile: (rev, file) => h.envRepo.show(rev, file),
      environments: [
        {
          application: 'web-production',
          namespace: 'web-production',
          path: 'apps/web/production',
          rollout: 'web',
        },
      ],
    });
    const release = (tag: string, sourceCommit: string) =>
      h.envRepo.commitFiles(
        { 'apps/web/production/rollout-web.yaml': stringify(rolloutWith(`ghcr.io/acme/web:${tag}`)) },
        formatCommitMessage({
          subject: `deploy web ${tag} to production`,
          trailers: [
            ['Shipgate-Run', `01JRELEASE${tag.replace(/\W/g, '').toUpperCase().padEnd(16, '0')}`],
            ['Source-Repo', 'acme/web'],
            ['Source-Commit', sourceCommit],
            ['Image', `ghcr.io/acme/web:${tag}`],
            ['Gates', 'tests=success trivy=success zap=success'],
          ],
        }),
      );
    v1 = await release('v1.0.0', h.appRepo.shas[0]!);
    v2 = await release('v2.0.0', V2_SOURCE);
    sim.seedHealthy('web-production', rolloutWith('ghcr.io/acme/web:v2.0.0'));

    redis = createRedisConnection(TEST_REDIS_URL, 'producer');
    await eventually(() => redis.status === 'ready', 5000, 'redis ready');
    ctx = createEngineContext({
      config: h.config,
      logger: createLogger('silent'),
      redis,
      queues: h.queues,
      tuning: {
        github: { spaceWrites: false, retryAfterBaseMs: 5 },
        executor: { local: { mounts: fakeScannerMounts() } },
      },
    });
  }

  afterEach(async () => {
    await h?.close();
    redis?.disconnect();
    await argo?.close();
    await kube?.close();
  });

  it('restores v1 as a new commit with rollback trailers, syncs it through the gates, and is idempotent', async () => {
    await start();
    const request = { app: 'web', env: 'production', to: 'v1.0.0', requestedBy: 'oncall-dev' };
    const started = await startRollbackRun(ctx, request);
    expect(started.created).toBe(true);
    expect(started.run).toMatchObject({
      kind: 'rollback',
      repo: 'acme/web',
      app: 'web',
      sha: h.appRepo.shas[0],
      tag: 'v1.0.0',
      releaser: 'oncall-dev',
      state: 'deploying',
      currentEnv: 'production',
    });
    expect(started.plan.target).toMatchObject({ sha: v1, tag: 'v1.0.0', sourceCommit: h.appRepo.shas[0] });
    expect(started.plan.current).toEqual({ sha: v2 });

    // Sent twice: the same run, and one deploy job.
    const again = await startRollbackRun(ctx, request);
    expect(again).toMatchObject({ created: false, run: { id: started.run.id } });
    const jobId = `${started.run.id}.rollback-deploy.production`;
    const job = await h.queues.deploy.getJob(jobId);
    expect(job?.data).toEqual({ stage: 'rollback-deploy', runId: started.run.id, env: 'production' });
    expect((await h.queues.deploy.getJobs(['waiting', 'delayed', 'active'])).map((j) => j.id)).toEqual([
      jobId,
    ]);
    expect(await h.envRepo.head()).toBe(v2);

    await runRollbackDeployStage(ctx, job!.data);

    // git: one new commit on top of v2 that restores v1's manifests and says so.
    const [rollback] = await h.envRepo.messages(1);
    expect(await h.envRepo.head()).toBe(rollback!.sha);
    expect(rollback!.message).toMatch(new RegExp(`^revert web in production to ${v1.slice(0, 12)}`));
    expect(rollback!.message).toContain('Manual rollback of web in production to v1.0.0');
    expect(rollback!.message).toContain(`Shipgate-Run: ${started.run.id}\n`);
    expect(rollback!.message).toContain(`Reverts: ${v2}\n`);
    expect(rollback!.message).toContain(`Restores: ${v1}\n`);
    expect(rollback!.message).toContain(`Source-Commit: ${h.appRepo.shas[0]}\n`);
    expect(rollback!.message).toContain('Image: ghcr.io/acme/web:v1.0.0\n');
    expect(await h.envRepo.show(rollback!.sha, 'apps/web/production/rollout-web.yaml')).toBe(
      await h.envRepo.show(v1, 'apps/web/production/rollout-web.yaml'),
    );
    expect((await h.envRepo.reflog()).at(-1)).toEqual({ old: v2, new: rollback!.sha });

    // Argo CD synced exactly that commit; the blue-green went through the gates and was promoted.
    expect(argo.syncs.map((s) => s.body.revision)).toEqual([rollback!.sha]);
    expect(argo.actions.map((a) => a.body.action)).toEqual(['resume']);
    expect(sim.healthyImages('web-production')).toEqual([
      'ghcr.io/acme/web:v2.0.0',
      'ghcr.io/acme/web:v1.0.0',
    ]);
    expect(scanners.calls().find((c) => c.tool === 'zap')?.args).toContain(
      'http://web-preview.web-production.svc.cluster.local/',
    );

    const run = await h.runs.requireRun(started.run.id);
    expect(run.state).toBe('succeeded');
    const events = (await h.runs.getEvents(run.id)).map((e) => e.type);
    expect(events).toEqual(
      expect.arrayContaining(['rollback-requested', 'commit', 'deploy:synced', 'rollback']),
    );
    const [deployment] = h.github.deployments('acme', 'web');
    expect(deployment).toMatchObject({ environment: 'production', sha: h.appRepo.shas[0] });
    expect(h.github.deploymentStatuses(deployment!.id)[0]).toMatchObject({ state: 'success' });

    // A retried job does nothing twice; asking for v1 again now says it is live.
    await runRollbackDeployStage(ctx, job!.data);
    expect(await h.envRepo.head()).toBe(rollback!.sha);
    expect(argo.syncs).toHaveLength(1);
    await expect(startRollbackRun(ctx, request)).rejects.toMatchObject({
      code: 'SHIPGATE_E_ROLLBACK_TARGET_NOT_FOUND',
      message: expect.stringMatching(/live now/),
    });
  });

  it('refuses an unknown tag or app with a typed error and writes nothing', async () => {
    await start();
    await expect(
      startRollbackRun(ctx, { app: 'web', env: 'production', to: 'v9.9.9', requestedBy: 'cli' }),
    ).rejects.toMatchObject({
      code: 'SHIPGATE_E_ROLLBACK_TARGET_NOT_FOUND',
      statusCode: 404,
      retryable: false,
    });
    await expect(
      startRollbackRun(ctx, { app: 'api', env: 'production', requestedBy: 'cli' }),
    ).rejects.toMatchObject({ code: 'SHIPGATE_E_ROLLBACK_NOT_GRANTED' });
    await expect(
      startRollbackRun(ctx, { app: 'web', env: 'production', to: '../x', requestedBy: 'cli' }),
    ).rejects.toMatchObject({ code: 'SHIPGATE_E_ROLLBACK_REQUEST_INVALID' });
    expect(await h.envRepo.head()).toBe(v2);
    expect((await h.runs.listRuns({ kind: 'rollback' })).runs).toEqual([]);
    expect(await h.queues.deploy.getJobCounts('waiting', 'delayed')).toMatchObject({
      waiting: 0,
      delayed: 0,
    });
    expect(argo.syncs).toEqual([]);
  });

  it('when the restored release fails a gate: aborts, reverts the rollback commit, run rolled-back', async () => {
    // ZAP's medium alerts fail this app's gate on the v1 preview.
    await start({
      pipeline: WEB_PIPELINE.replace(
        '    mode: image\n',
        '    mode: image\n  zap:\n    failThreshold: Medium\n',
      ),
    });
    const started = await startRollbackRun(ctx, { app: 'web', env: 'production', requestedBy: 'oncall-dev' });
    expect(started.plan.target.sha).toBe(v1);
    await runRollbackDeployStage(ctx, { stage: 'rollback-deploy', runId: started.run.id, env: 'production' });

    const run = await h.runs.requireRun(started.run.id);
    expect(run.state).toBe('rolled-back');
    expect(run.reason).toMatch(/zap/);
    const [revert, rollback] = await h.envRepo.messages(2);
    expect(rollback!.message).toContain(`Restores: ${v1}`);
    expect(revert!.message).toContain(`Reverts: ${rollback!.sha}`);
    expect(revert!.message).toContain(`Restores: ${v2}`);
    expect(await h.envRepo.show(revert!.sha, 'apps/web/production/rollout-web.yaml')).toContain(
      'image: ghcr.io/acme/web:v2.0.0',
    );
    expect(argo.actions.map((a) => a.body.action)).toEqual(['abort']);
    expect(argo.syncs.map((s) => s.body.revision)).toEqual([rollback!.sha, revert!.sha]);
  });

  it('POST /api/rollbacks queues the request; the workers plan and deploy it', async () => {
    await start({ workers: true });
    const post = (body: unknown, token = API_TOKEN) =>
      fetch(`${h.baseUrl}/api/rollbacks`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post({ app: 'web', env: 'production' }, 'wrong-token')).status).toBe(401);

    const unknown = await post({ app: 'web', env: 'production', to: 'v9.9.9' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'SHIPGATE_E_ROLLBACK_TARGET_NOT_FOUND' } });

    const res = await post({ app: 'web', env: 'production', requestedBy: 'oncall-dev' });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { requestId: string; runId?: string };
    const answer = await eventually(
      async () => {
        const r = await fetch(`${h.baseUrl}/api/rollbacks/${body.requestId}`, {
          headers: { authorization: `Bearer ${API_TOKEN}` },
        });
        const view = (await r.json()) as { status: string; runId?: string };
        return view.status === 'started' ? view : undefined;
      },
      10_000,
      'rollback request answered',
    );
    if (body.runId !== undefined) expect(body.runId).toBe(answer.runId);
    const run = await eventually(
      async () => {
        const r = await h.runs.getRun(answer.runId!);
        return r?.state === 'succeeded' ? r : undefined;
      },
      15_000,
      'rollback run succeeded',
    );
    expect(run).toMatchObject({ kind: 'rollback', releaser: 'oncall-dev', tag: 'v1.0.0' });
    const [rollback] = await h.envRepo.messages(1);
    expect(rollback!.message).toContain(`Restores: ${v1}`);
    expect(argo.syncs.map((s) => s.body.revision)).toEqual([rollback!.sha]);
  });
});
