/**
 * Issue 11, "Fail closed on configuration": a release whose Argo CD cannot be reached when the
 * deploy starts never reaches the env repo. Through the front door: a signed tag push, the
 * real gates, the deploy worker on real BullMQ, the Argo CD stand-in answering 503.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import {
  seedLiveRelease,
  startClusterStandIns,
  type ClusterStandIns,
} from '../../support/cluster-stand-ins.js';
import { installFakeScanners, type FakeScanners } from '../../support/fake-scanners/install.js';
import { FIXTURES } from '../../support/fixtures.js';
import { eventually, fixturePayload, startHarness, type Harness } from '../../support/shipgate-harness.js';

let scanners: FakeScanners;
const originalPath = process.env.PATH;
let h: Harness | undefined;
let cluster: ClusterStandIns | undefined;

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
afterEach(async () => {
  await h?.close();
  await cluster?.close();
});

it('Argo CD unreachable at preflight: nothing is committed, the job retries, the run is not failed', async () => {
  cluster = await startClusterStandIns();
  const { argo } = cluster;
  h = await startHarness({ env: cluster.env });
  const sim = cluster.simulate(h);
  await seedLiveRelease(h, sim, ['staging'], 'ghcr.io/acme/web:v0.9.0');
  const before = await h.envRepo.head();
  argo.setUnavailable('503');

  const payload = fixturePayload('push-tag-created.docs-example.json', h);
  Object.assign(payload, {
    ref: 'refs/tags/v1.0.0',
    after: h.appRepo.shas[0],
    created: true,
    deleted: false,
  });
  (payload.sender as Record<string, unknown>).login = 'releaser-gh';
  expect(await h.deliver('push', payload)).toBe(202);

  const run = await h.waitForRun((r) => r.state === 'deploying', 'release deploying', 60_000);
  const job = await eventually(
    async () => {
      const j = await h!.queues.deploy.getJob(`${run.id}.deploy.staging`);
      return j && j.attemptsMade >= 1 ? j : undefined;
    },
    60_000,
    'the deploy job to fail its first attempt',
  );
  expect(job.failedReason).toMatch(
    /deploy preflight failed, nothing committed: Argo CD Application web-staging/,
  );
  expect(argo.requests.some((r) => r.answered === 503 && r.path.includes('web-staging'))).toBe(true);
  // Git never names a release that could not be verified.
  expect(await h.envRepo.head()).toBe(before);
  expect(argo.syncs).toEqual([]);
  expect((await h.runs.requireRun(run.id)).state).toBe('deploying');
});
