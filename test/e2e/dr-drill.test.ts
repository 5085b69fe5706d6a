import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControllerSim } from '../../sandbox/rollout-controller-sim.js';
import { APPROVAL_WORKERS } from '../../workers/approval-workers.js';
import { ENGINE_WORKERS } from '../../workers/engine-workers.js';
import { RECOVER_LOST_RUNS_JOB, recoveryWorker } from '../../workers/recovery-worker.js';
import { seedLiveRelease, startClusterStandIns, type ClusterStandIns } from '../support/cluster-stand-ins.js';
import { installFakeScanners, type FakeScanners } from '../support/fake-scanners/install.js';
import { FIXTURES } from '../support/fixtures.js';
import { startRedisServer, type TestRedisServer } from '../support/redis-server.js';
import {
  createHarnessWorld,
  disposeHarnessWorld,
  eventually,
  fixturePayload,
  startHarness,
  type Harness,
  type HarnessWorld,
  WEB_PIPELINE,
} from '../support/shipgate-harness.js';

/**
 * The disaster-recovery drill of docs/operations/disaster-recovery.md, as a test:
 *   1. a release is in flight (its staging Rollout paused, ZAP scanning the preview), and a
 *      second one is in its first gates on a commit only its tag points at;
 *   2. Redis loses everything (FLUSHALL on a redis-server of our own);
 *   3. Shipgate is killed and started again on the empty Redis;
 *   4. both runs are reported lost exactly once: their open check runs and deployment completed
 *      with an explanation; another restart reports nothing again;
 *   5. the live state Shipgate rebuilt matches the env repo;
 *   6. a new release goes through.
 */
const API_TOKEN = randomBytes(24).toString('hex');
let scanners: FakeScanners;
const originalPath = process.env.PATH;
let redis: TestRedisServer;
let cluster: ClusterStandIns;
let world: HarnessWorld;
let sim: ControllerSim;
const harnesses: Harness[] = [];

beforeAll(async () => {
  scanners = installFakeScanners();
  process.env.PATH = `${scanners.binDir}:${originalPath}`;
  redis = await startRedisServer();
  cluster = await startClusterStandIns();
  world = await createHarnessWorld();
});
afterAll(async () => {
  for (const h of harnesses) await h.crash().catch(() => {});
  await disposeHarnessWorld(world, redis.url).catch(() => {});
  await cluster?.close();
  await redis?.dispose();
  process.env.PATH = originalPath;
  scanners.cleanup();
});

/** `shipgate start`: the workers, then their start-up schedules (where recovery is claimed). */
async function startShipgate(): Promise<Harness> {
  const h = await startHarness({
    world,
    redisUrl: redis.url,
    env: { ...cluster.env, SHIPGATE_API_TOKEN: API_TOKEN },
    workers: [...ENGINE_WORKERS, ...APPROVAL_WORKERS, recoveryWorker],
  });
  harnesses.push(h);
  await recoveryWorker.schedule!(h.workerCtx);
  return h;
}

function tagPush(h: Harness, tag: string) {
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

describe('disaster recovery drill', () => {
  it('reports the run lost with Redis once, rebuilds what is live from git, and releases again', async () => {
    scanners.configure({
      trivy: { fixture: `${FIXTURES}/trivy/image-no-vulnerabilities.json` },
      // ZAP never finishes: the release is caught in flight, its Rollout paused on the preview.
      zap: { behaviour: 'hang' },
    });
    let h = await startShipgate();
    sim = cluster.simulate(h);
    await seedLiveRelease(h, sim, ['staging'], 'ghcr.io/acme/web:v0.9.0');

    // 1. A release in flight.
    expect(await h.deliver('push', tagPush(h, 'v1.0.0'))).toBe(202);
    const lostRun = await h.waitForRun(
      (r) => r.tag === 'v1.0.0' && r.state === 'verifying',
      'release verifying in staging',
      60_000,
    );
    const zapCheck = await eventually(
      () =>
        h.github.checkRuns('acme', 'web').find((c) => c.name === 'shipgate/zap' && c.status !== 'completed'),
      30_000,
      'ZAP scanning the preview',
    );
    await eventually(() => scanners.calls().some((c) => c.tool === 'zap'), 30_000, 'ZAP running');
    const [deployment] = h.github.deployments('acme', 'web');
    expect(h.github.deploymentStatuses(deployment!.id)[0]?.state).toBe('in_progress');

    // 1b. A second release caught in its first gates, on a commit that only its tag points at:
    // not deployed, not a pull request's head, nothing in the env repo. Trivy never finishes.
    const bare = h.appRepo.bareDir;
    const gitIn = (args: string[]) => execFileSync('git', ['-C', bare, ...args], { encoding: 'utf8' }).trim();
    const taggedOnly = gitIn([
      'commit-tree',
      `${h.appRepo.shas[0]}^{tree}`,
      '-p',
      h.appRepo.shas[0]!,
      '-m',
      'next',
    ]);
    gitIn(['tag', '-a', 'v1.1.0', '-m', 'v1.1.0', taggedOnly]);
    h.github.setFile('acme', 'web', taggedOnly, '.shipgate.yml', WEB_PIPELINE);
    scanners.configure({ trivy: { behaviour: 'hang' }, zap: { behaviour: 'hang' } });
    const trivyCallsBefore = scanners.calls().filter((c) => c.tool === 'trivy').length;
    expect(await h.deliver('push', { ...tagPush(h, 'v1.1.0'), after: taggedOnly })).toBe(202);
    const lostInGates = await h.waitForRun(
      (r) => r.tag === 'v1.1.0' && r.state === 'gating',
      'second release gating',
      60_000,
    );
    await eventually(
      () => scanners.calls().filter((c) => c.tool === 'trivy').length > trivyCallsBefore,
      30_000,
      'Trivy running for the second release',
    );
    // Its tests gate ends by itself (only Trivy hangs). Wait for it: `crash()` stops the workers
    // without stopping the jobs they run, so a gate still running then would finish (and complete
    // its check) after the "crash", which a killed process never does.
    await eventually(
      () =>
        h.github
          .checkRuns('acme', 'web')
          .find((c) => c.head_sha === taggedOnly && c.name === 'shipgate/tests' && c.status === 'completed'),
      30_000,
      "the second release's tests gate done",
    );

    // 2. Redis loses everything; 3. Shipgate is killed and started again.
    const admin = new Redis(redis.url);
    await admin.flushall();
    admin.disconnect();
    await h.crash();
    const openInGates = h.github
      .checkRuns('acme', 'web')
      .filter((c) => c.head_sha === taggedOnly && c.status !== 'completed').length;
    expect(openInGates).toBeGreaterThan(0);
    scanners.configure({
      trivy: { fixture: `${FIXTURES}/trivy/image-no-vulnerabilities.json` },
      zap: { fixture: `${FIXTURES}/zap/baseline-zap2.14-medium-low-info.json` },
    });
    h = await startShipgate();

    // 4. Reported lost: the open ZAP check and the staging deployment, with the explanation.
    const recovery = await eventually(
      async () => {
        const job = await h.queues.maintenance.getJob(RECOVER_LOST_RUNS_JOB);
        return job?.finishedOn !== undefined ? job : undefined;
      },
      30_000,
      'recovery job finished',
    );
    expect(recovery.returnvalue).toMatchObject({ lost: 2 });
    expect([...(recovery.returnvalue as { reported: string[] }).reported].sort()).toEqual(
      [lostRun.id, lostInGates.id].sort(),
    );
    const zapAfter = h.github.checkRuns('acme', 'web').find((c) => c.id === zapCheck.id)!;
    expect(zapAfter).toMatchObject({ status: 'completed', conclusion: 'cancelled' });
    expect(JSON.stringify(zapAfter.output)).toContain(`Shipgate lost run ${lostRun.id}`);
    const statuses = h.github.deploymentStatuses(deployment!.id);
    expect(statuses[0]).toMatchObject({ state: 'error' });
    expect(String(statuses[0]!.description)).toContain(lostRun.id);
    // Every check run of the lost run is completed now; none is left queued or in progress.
    expect(h.github.checkRuns('acme', 'web').every((c) => c.status === 'completed')).toBe(true);

    // ... and only once: a second restart on the same (recovered) Redis reports nothing again.
    const reportsSoFar = lostReports(h);
    await h.crash();
    h = await startShipgate();
    // The Redis is Shipgate's already: no second recovery job (the first one is still recorded).
    await new Promise((r) => setTimeout(r, 1000));
    expect((await h.queues.maintenance.getJob(RECOVER_LOST_RUNS_JOB))?.timestamp).toBe(recovery.timestamp);
    expect(lostReports(h)).toEqual(reportsSoFar);
    expect(reportsSoFar).toEqual({ checkPatches: 1 + openInGates, deploymentErrors: 1 });
    expect((await h.workerCtx.producer.hkeys(h.runs.keys.recoveryReported())).sort()).toEqual(
      [lostRun.id, lostInGates.id].sort(),
    );

    // 5. What is live, rebuilt from the env repo's trailers, is what git says.
    const live = await eventually(
      async () => {
        const res = await fetch(`${h.baseUrl}/api/live`, {
          headers: { authorization: `Bearer ${API_TOKEN}` },
        });
        return res.status === 200 ? ((await res.json()) as { items: Record<string, unknown>[] }) : undefined;
      },
      20_000,
      'GET /api/live',
    );
    const staging = live.items.find((i) => i.env === 'staging')!;
    const gitStaging = (
      await world.envRepo.git(['log', '-1', '--format=%H', world.envRepo.branch, '--', 'apps/web/staging'])
    ).trim();
    expect(staging).toMatchObject({
      app: 'web',
      kind: 'release',
      commit: gitStaging,
      run: lostRun.id,
      image: 'ghcr.io/acme/web:v1.0.0',
      sourceCommit: h.appRepo.shas[0],
    });
    expect(live.items.find((i) => i.env === 'production')).toMatchObject({ kind: 'none' });

    // 6. A new release works on the recovered Shipgate.
    expect(await h.deliver('push', tagPush(h, 'v1.0.1'))).toBe(202);
    const next = await h.waitForRun(
      (r) => r.tag === 'v1.0.1' && r.state === 'awaiting-approval',
      'new release through staging',
      60_000,
    );
    expect(next.currentEnv).toBe('production');
    const [newest] = await world.envRepo.messages(1);
    expect(newest!.message).toContain(`Shipgate-Run: ${next.id}`);
    expect(newest!.message).toContain('Image: ghcr.io/acme/web:v1.0.1');
  }, 150_000);
});

/**
 * What was reported lost: the check runs completed and the deployments given an `error` status
 * with the explanation. Counted by id: the GitHub client may resend one PATCH whose answer was
 * slow (its transport retry), which is the same report, not a second one.
 */
function lostReports(h: Harness) {
  const lost = /Shipgate lost run/;
  const ids = (method: string, path: RegExp) =>
    new Set(
      h.github.requests
        .filter((r) => r.method === method && path.test(r.path) && lost.test(JSON.stringify(r.body)))
        .map((r) => path.exec(r.path)![1]),
    ).size;
  return {
    checkPatches: ids('PATCH', /\/check-runs\/(\d+)$/),
    deploymentErrors: ids('POST', /\/deployments\/(\d+)\/statuses$/),
  };
}
