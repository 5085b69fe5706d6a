import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ArgoCdStandIn } from '../../../sandbox/argocd-stand-in.js';
import {
  seedLiveRelease,
  startClusterStandIns,
  type ClusterStandIns,
} from '../../support/cluster-stand-ins.js';
import { installFakeScanners, type FakeScanners } from '../../support/fake-scanners/install.js';
import type { ControllerSim } from '../../../sandbox/rollout-controller-sim.js';
import {
  eventually,
  fixturePayload,
  startHarness,
  WEB_PIPELINE,
  type Harness,
} from '../../support/shipgate-harness.js';
import { FIXTURES } from '../../support/fixtures.js';

/**
 * Issue 6 through the front door: a signed tag push → gates → the staging manifests committed
 * to the env repo with provenance → Argo CD sync → the blue-green Rollout through its gates →
 * promoted, or aborted AND reverted in git when a gate fails.
 */
let scanners: FakeScanners;
const originalPath = process.env.PATH;

beforeAll(() => {
  scanners = installFakeScanners();
  process.env.PATH = `${scanners.binDir}:${originalPath}`;
  scanners.configure({
    trivy: { fixture: `${FIXTURES}/trivy/image-no-vulnerabilities.json` },
    zap: { fixture: `${FIXTURES}/zap/baseline-zap2.14-medium-low-info.json` },
  });
});
afterAll(() => {
  process.env.PATH = originalPath;
  scanners.cleanup();
});

describe('release runs', () => {
  let h: Harness;
  let argo: ArgoCdStandIn;
  let sim: ControllerSim;

  let cluster: ClusterStandIns;

  async function start(pipeline = WEB_PIPELINE, appFiles: Record<string, string> = {}) {
    cluster = await startClusterStandIns();
    ({ argo } = cluster);
    h = await startHarness({ appFiles: { '.shipgate.yml': pipeline, ...appFiles }, env: cluster.env });
    sim = cluster.simulate(h);
    // v0.9.0 is live in staging: in git (as an earlier Shipgate release) and in the cluster.
    await seedLiveRelease(h, sim, ['staging'], 'ghcr.io/acme/web:v0.9.0');
  }

  function tagPush(tag: string) {
    const payload = fixturePayload('push-tag-created.docs-example.json', h);
    Object.assign(payload, {
      ref: `refs/tags/${tag}`,
      after: h.appRepo.shas[0],
      created: true,
      deleted: false,
    });
    (payload.sender as Record<string, unknown>).login = 'releaser-gh';
    return payload;
  }

  afterEach(async () => {
    await h?.close();
    await cluster?.close();
  });

  it('gates a tag, commits staging with provenance, deploys it blue-green and waits for production approval', async () => {
    await start();
    expect(await h.deliver('push', tagPush('v1.0.0'))).toBe(202);

    const run = await eventually(
      async () =>
        (await h.runs.listRuns({ repo: 'acme/web' })).runs.find((r) => r.state === 'awaiting-approval'),
      60_000,
      'release awaiting production approval',
    );
    expect(run).toMatchObject({
      kind: 'release',
      tag: 'v1.0.0',
      currentEnv: 'production',
      releaser: 'releaser-gh',
    });

    // Gates: Trivy scanned the release image.
    const trivy = scanners.calls().find((c) => c.tool === 'trivy');
    expect(trivy?.args.slice(0, 1)).toEqual(['image']);
    expect(trivy?.args).toContain('ghcr.io/acme/web:v1.0.0');
    const conclusions = Object.fromEntries(
      h.github.checkRuns('acme', 'web').map((c) => [c.name, c.conclusion]),
    );
    expect(conclusions).toMatchObject({
      'shipgate/config': 'success',
      'shipgate/tests': 'success',
      'shipgate/trivy': 'success',
      'shipgate/zap': 'success',
    });

    // The env repo: one Shipgate commit for staging, with the provenance trailers, image pinned.
    const [latest] = await h.envRepo.messages(1);
    expect(latest!.message).toMatch(/^Shipgate-Run: /m);
    expect(latest!.message).toContain(`Shipgate-Run: ${run.id}`);
    expect(latest!.message).toContain('Source-Repo: acme/web');
    expect(latest!.message).toContain(`Source-Commit: ${h.appRepo.shas[0]}`);
    expect(latest!.message).toContain('Image: ghcr.io/acme/web:v1.0.0');
    expect(latest!.message).toMatch(/^Gates: .*tests=success/m);
    const rollout = await h.envRepo.show(latest!.sha, 'apps/web/staging/rollout-web.yaml');
    expect(rollout).toContain('image: ghcr.io/acme/web:v1.0.0');
    expect(rollout).toContain('image: docker.io/envoyproxy/envoy:v1.30.1');
    expect(await h.envRepo.list(latest!.sha, 'apps/web/production')).toEqual([]);

    // Argo CD synced exactly that commit, and the Rollout was promoted after the gates.
    expect(argo.syncs.map((s) => s.body.revision)).toEqual([latest!.sha]);
    expect(argo.actions.map((a) => a.body.action)).toEqual(['resume']);
    expect(sim.healthyImages('web-staging')).toEqual(['ghcr.io/acme/web:v0.9.0', 'ghcr.io/acme/web:v1.0.0']);
    // ZAP scanned the preview service, not the live one.
    expect(scanners.calls().find((c) => c.tool === 'zap')?.args).toContain(
      'http://web-preview.web-staging.svc.cluster.local/',
    );

    // GitHub's Environments page tells the truth.
    const [deployment] = h.github.deployments('acme', 'web');
    expect(deployment).toMatchObject({ environment: 'staging', sha: h.appRepo.shas[0] });
    const states = h.github.deploymentStatuses(deployment!.id).map((s) => s.state);
    expect(states[0]).toBe('success');
    expect(states).toContain('in_progress');
    // The fixture's Rollout has no post-promotion analysis, so no "promoted; watching …" status
    // that `success` would supersede at once: syncing, ZAP on the preview, live.
    expect(h.github.deploymentStatuses(deployment!.id).map((s) => s.description)).toEqual([
      expect.stringMatching(/is live in staging$/),
      expect.stringMatching(/^ZAP scanning the preview/),
      expect.stringMatching(/^syncing /),
    ]);

    // The approval request is queued for production.
    expect(await h.queues.approval.getJob(`${run.id}.approval-request.production`)).toBeDefined();

    // GitHub paces writes, so each one counts: the config check is created completed, the gate
    // checks are created running and completed once, and nothing is sent twice.
    const checkWrites = h.github.requests.filter(
      (r) => (r.method === 'POST' || r.method === 'PATCH') && r.path.includes('/check-runs'),
    );
    expect(checkWrites.filter((r) => r.method === 'POST')).toHaveLength(4);
    expect(checkWrites.filter((r) => r.method === 'PATCH')).toHaveLength(3);
    for (const name of ['shipgate/tests', 'shipgate/trivy', 'shipgate/zap']) {
      expect(checkWrites.find((r) => (r.body as { name?: string }).name === name)?.body).toMatchObject({
        status: 'in_progress',
        started_at: expect.any(String),
      });
    }
  }, 90_000); // Its own wait for the release is 60 s: the suite's 30 s cut it short at load 25.

  it('aborts the Rollout AND reverts git when a gate fails on the preview', async () => {
    // ZAP's medium alerts fail this app's gate.
    await start(
      WEB_PIPELINE.replace('    mode: image\n', '    mode: image\n  zap:\n    failThreshold: Medium\n'),
    );
    expect(await h.deliver('push', tagPush('v1.0.1'))).toBe(202);

    const run = await h.waitForRun((r) => r.state === 'rolled-back', 'release rolled back', 60_000);
    expect(run.reason).toMatch(/zap/i);

    // git: the release commit, then the revert commit restoring v0.9.0 — git never claims v1.0.1 is live.
    const [revert, release] = await h.envRepo.messages(2);
    expect(release!.message).toContain(`Shipgate-Run: ${run.id}`);
    expect(revert!.message).toContain(`Reverts: ${release!.sha}`);
    expect(await h.envRepo.show(revert!.sha, 'apps/web/staging/rollout-web.yaml')).toContain(
      'image: ghcr.io/acme/web:v0.9.0',
    );
    // Argo CD: aborted, then synced to the revert; the cluster is back on v0.9.0.
    expect(argo.actions.map((a) => a.body.action)).toEqual(['abort']);
    expect(argo.syncs.map((s) => s.body.revision)).toEqual([release!.sha, revert!.sha]);
    await eventually(
      () => sim.healthyImages('web-staging').at(-1) === 'ghcr.io/acme/web:v0.9.0',
      10_000,
      'cluster back on v0.9.0',
    );

    const [deployment] = h.github.deployments('acme', 'web');
    expect(h.github.deploymentStatuses(deployment!.id)[0]).toMatchObject({ state: 'failure' });
    const zap = h.github.checkRuns('acme', 'web').find((c) => c.name === 'shipgate/zap');
    expect(zap?.conclusion).toBe('failure');
    const events = await h.runs.getEvents(run.id);
    expect(events.some((e) => e.type === 'rollback')).toBe(true);
    // Nothing was promoted and production was never touched.
    expect(await h.envRepo.list(revert!.sha, 'apps/web/production')).toEqual([]);
  });

  it('fails the run with the validation error, and writes nothing, when the manifests break the policy', async () => {
    // The policy requires blue-green with active and preview services; this Rollout has no activeService.
    const rollout = readFileSync('test/fixtures/apps/web/deploy/base/rollout.yaml', 'utf8').replace(
      /^\s+activeService: web-active\n/m,
      '',
    );
    await start(WEB_PIPELINE, { 'deploy/base/rollout.yaml': rollout });
    const before = await h.envRepo.head();
    expect(await h.deliver('push', tagPush('v1.0.2'))).toBe(202);
    const run = await h.waitForRun((r) => r.state === 'failed', 'release failed', 60_000);
    expect(run.reason).toMatch(/SHIPGATE_E_GITOPS_MANIFESTS_INVALID/);
    expect(await h.envRepo.head()).toBe(before);
    expect(argo.syncs).toEqual([]);
  });
});
