import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEngineContext } from '../../../src/engine/context/create-engine-context.js';
import { failGateStage } from '../../../src/engine/stages/gate-stage.js';
import { CheckoutFailed } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { pipelineWorker, renderWorker, trivyGateWorker } from '../../../workers/engine-workers.js';
import { installFakeScanners, type FakeScanners } from '../../support/fake-scanners/install.js';
import { testRedis } from '../../support/redis.js';
import {
  eventually,
  fixturePayload,
  startHarness,
  type Harness,
  fakeScannerMounts,
} from '../../support/shipgate-harness.js';
import { fixturePath } from '../../support/fixtures.js';

/**
 * Issue 3/4/5 through the front door: a signed pull_request webhook → a run → check runs for
 * config, tests, Trivy (fs) and the manifest diff, completed on the GitHub stand-in.
 */
let scanners: FakeScanners;
const originalPath = process.env.PATH;

beforeAll(() => {
  scanners = installFakeScanners();
  // The local executor runs scanners from the worker's PATH, as on a real host.
  process.env.PATH = `${scanners.binDir}:${originalPath}`;
  scanners.configure({
    trivy: { fixture: fixturePath('trivy', 'image-no-vulnerabilities.json') },
  });
});
afterAll(() => {
  process.env.PATH = originalPath;
  scanners.cleanup();
});

function prPayload(h: Harness, sha: string, action = 'opened', fork = false) {
  const payload = fixturePayload(
    action === 'synchronize' ? 'pull_request-synchronize.json' : 'pull_request-opened.json',
    h,
  );
  payload.action = action;
  const pr = payload.pull_request as Record<string, Record<string, unknown>>;
  pr.head!.sha = sha;
  pr.head!.repo = { ...(pr.head!.repo as object), full_name: fork ? 'mallory/web' : 'acme/web', fork };
  pr.base!.repo = { ...(pr.base!.repo as object), full_name: 'acme/web' };
  (payload.pull_request as Record<string, unknown>).number = 7;
  payload.number = 7;
  return payload;
}

function checksByName(h: Harness) {
  const byName = new Map<string, ReturnType<Harness['github']['checkRuns']>[number]>();
  for (const check of h.github.checkRuns('acme', 'web')) byName.set(String(check.name), check);
  return byName;
}

describe('pull request runs', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it('makes and completes the config, tests, trivy and manifests checks', async () => {
    h = await startHarness();
    const sha = h.appRepo.shas[0]!;
    expect(await h.deliver('pull_request', prPayload(h, sha))).toBe(202);

    const checks = await eventually(
      () => {
        const byName = checksByName(h);
        const done = ['shipgate/config', 'shipgate/tests', 'shipgate/trivy', 'shipgate/manifests'].every(
          (n) => byName.get(n)?.status === 'completed',
        );
        return done ? byName : undefined;
      },
      40_000,
      'all four checks completed',
    );

    expect(checks.get('shipgate/config')).toMatchObject({ conclusion: 'success', head_sha: sha });
    expect(checks.get('shipgate/tests')).toMatchObject({ conclusion: 'success' });
    expect(String((checks.get('shipgate/tests')!.output as { summary: string }).summary)).toContain(
      'all 3 tests passed',
    );
    expect(checks.get('shipgate/trivy')).toMatchObject({ conclusion: 'success' });
    const manifests = checks.get('shipgate/manifests')!;
    expect(manifests.conclusion).toBe('success');
    const text = JSON.stringify(manifests.output);
    expect(text).toContain('staging');
    expect(text).toContain('production');
    expect(text).toContain('rollout-web.yaml');
    // Trivy scanned the source tree (fs), as pull requests always do.
    expect(scanners.calls().some((c) => c.tool === 'trivy' && c.args[0] === 'fs')).toBe(true);

    // The verdict is taken right after the last check completes.
    const run = await h.waitForRun((r) => r.state === 'succeeded', 'run succeeded', 10_000);
    expect(run).toMatchObject({ kind: 'pr', prNumber: 7, sha });
    const events = await h.runs.getEvents(run.id);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['created', 'gate', 'state']));
    // Exactly one check run per name: the stages are idempotent.
    expect(h.github.checkRuns('acme', 'web')).toHaveLength(4);

    // Seven check-run writes in all (GitHub paces writes, so each one counts): the config check
    // is created completed; each gate's is created running and completed by one PATCH.
    const writes = h.github.requests.filter((r) => r.method !== 'GET' && r.path.includes('/check-runs'));
    expect(writes.map((r) => r.method).sort()).toEqual([...Array(3).fill('PATCH'), ...Array(4).fill('POST')]);
    const created = Object.fromEntries(
      writes
        .filter((r) => r.method === 'POST')
        .map((r) => r.body as { name: string; status: string })
        .map((b) => [b.name, b.status]),
    );
    expect(created).toEqual({
      'shipgate/config': 'completed',
      'shipgate/tests': 'in_progress',
      'shipgate/trivy': 'in_progress',
      'shipgate/manifests': 'in_progress',
    });
    expect(checks.get('shipgate/tests')!.started_at).toEqual(expect.any(String));
  });

  it('supersedes the older run on synchronize and cancels its checks', async () => {
    h = await startHarness({ appFiles: { 'run-tests.sh': 'sleep 30\n' } });
    const first = h.appRepo.shas[0]!;
    expect(await h.deliver('pull_request', prPayload(h, first))).toBe(202);
    await eventually(
      () => checksByName(h).get('shipgate/tests')?.status === 'in_progress',
      30_000,
      'first tests check running',
    );
    // A newer head: same repo content is fine, only the sha matters to the run.
    const second = 'f'.repeat(40);
    expect(await h.deliver('pull_request', prPayload(h, second, 'synchronize'))).toBe(202);

    const oldRun = await h.waitForRun(
      (r) => r.sha === first && r.state === 'superseded',
      'old run superseded',
      20_000,
    );
    expect(oldRun.supersededBy).toBeDefined();
    const oldTests = await eventually(
      () => {
        const check = h.github
          .checkRuns('acme', 'web')
          .find((c) => c.name === 'shipgate/tests' && c.head_sha === first && c.status === 'completed');
        return check;
      },
      20_000,
      'old tests check completed',
    );
    expect(oldTests.conclusion).toBe('cancelled');
  });

  it('cancels every check of a run superseded while it was still creating them', async () => {
    h = await startHarness();
    const first = h.appRepo.shas[0]!;
    // The older run's starter is held up creating its tests check, so the newer push supersedes
    // it in the middle: its trivy and manifests checks are created after the wind-down ran.
    h.github.failNext({
      method: 'POST',
      path: /\/repos\/acme\/web\/check-runs$/,
      body_matches: (body) => {
        const b = body as { name?: string; head_sha?: string };
        return b.name === 'shipgate/tests' && b.head_sha === first;
      },
      delayMs: 1_500,
    });
    expect(await h.deliver('pull_request', prPayload(h, first))).toBe(202);
    await eventually(
      () => h.github.requests.some((r) => r.method === 'POST' && r.path.endsWith('/check-runs')),
      20_000,
      'older run creating its checks',
    );
    const second = 'e'.repeat(40);
    expect(await h.deliver('pull_request', prPayload(h, second, 'synchronize'))).toBe(202);
    await h.waitForRun((r) => r.sha === first && r.state === 'superseded', 'old run superseded', 20_000);

    const olderChecks = await eventually(
      () => {
        const checks = h.github.checkRuns('acme', 'web').filter((c) => c.head_sha === first);
        const gates = checks.filter((c) => c.name !== 'shipgate/config');
        return gates.length === 3 && gates.every((c) => c.status === 'completed') ? gates : undefined;
      },
      20_000,
      'every gate check of the superseded run completed',
    );
    expect(olderChecks.map((c) => c.conclusion)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  });

  it('fails shipgate/config with an annotation on the offending line', async () => {
    h = await startHarness({
      appFiles: {
        '.shipgate.yml':
          'version: 1\napp: web\nimage:\n  repository: ghcr.io/acme/web\ntest:\n  image: node:20\n  command: npm test\n  timeoutSecond: 30\n',
      },
    });
    const sha = h.appRepo.shas[0]!;
    expect(await h.deliver('pull_request', prPayload(h, sha))).toBe(202);
    const config = await eventually(
      () =>
        h.github
          .checkRuns('acme', 'web')
          .find((c) => c.name === 'shipgate/config' && c.status === 'completed'),
      20_000,
      'config check completed',
    );
    expect(config.conclusion).toBe('failure');
    expect(config.annotations.some((a) => a.path === '.shipgate.yml' && a.start_line === 8)).toBe(true);
    // No gate runs on a broken config.
    expect(h.github.checkRuns('acme', 'web').map((c) => c.name)).toEqual(['shipgate/config']);
    // The run's state is written right after the check completes.
    await eventually(
      async () => (await h.runs.listRuns({ repo: 'acme/web' })).runs[0]?.state === 'failed',
      10_000,
      'run failed',
    );
  });

  it('runs nothing for a fork PR or a repo the policy does not allow', async () => {
    h = await startHarness();
    const sha = h.appRepo.shas[0]!;
    expect(await h.deliver('pull_request', prPayload(h, sha, 'opened', true))).toBe(202);
    const blocked = prPayload(h, sha);
    Object.assign(blocked.repository as object, { full_name: 'acme/blocked', name: 'blocked' });
    expect(await h.deliver('pull_request', blocked)).toBe(202);
    // Both deliveries are consumed, and neither makes a run or a check.
    await eventually(
      async () => (await h.queues.webhook.getJobCounts('completed')).completed === 2,
      20_000,
      'both jobs done',
    );
    expect((await h.runs.listRuns({})).runs).toEqual([]);
    expect(h.github.checkRuns('acme', 'web')).toEqual([]);
  });

  it('re-runs the whole run at the same commit when a Shipgate check is re-requested', async () => {
    h = await startHarness();
    const sha = h.appRepo.shas[0]!;
    expect(await h.deliver('pull_request', prPayload(h, sha))).toBe(202);
    const first = await h.waitForRun((r) => r.state === 'succeeded', 'first run succeeded', 20_000);
    const tests = h.github.checkRuns('acme', 'web').find((c) => c.name === 'shipgate/tests')!;

    // GitHub's own example of a rerequested check_run, pointed at our check run.
    const examples = createRequire(import.meta.url)(
      '@octokit/webhooks-examples/api.github.com/index.json',
    ) as {
      name: string;
      examples: Record<string, unknown>[];
    }[];
    const rerequested = structuredClone(
      examples.find((e) => e.name === 'check_run')!.examples.find((e) => e.action === 'rerequested')!,
    );
    Object.assign(rerequested.check_run as object, {
      id: tests.id,
      name: 'shipgate/tests',
      external_id: tests.external_id,
      head_sha: sha,
      app: { ...(rerequested.check_run as { app: object }).app, id: Number(h.config.github.appId) },
    });
    Object.assign(rerequested, { repository: fixturePayload('pull_request-opened.json', h).repository });
    rerequested.installation = { id: h.installationId };
    expect(await h.deliver('check_run', rerequested)).toBe(202);

    const second = await h.waitForRun(
      (r) => r.id !== first.id && r.state === 'succeeded',
      'second run succeeded',
      20_000,
    );
    expect(second).toMatchObject({ kind: 'pr', prNumber: 7, sha });
    // The ended run is left as it was; the new one has its own check runs.
    expect((await h.runs.requireRun(first.id)).state).toBe('succeeded');
    const testsChecks = h.github.checkRuns('acme', 'web').filter((c) => c.name === 'shipgate/tests');
    expect(testsChecks.map((c) => c.external_id).sort()).toEqual(
      [`${first.id}/tests`, `${second.id}/tests`].sort(),
    );
  });

  it('re-runs the run when the whole check suite is re-requested', async () => {
    h = await startHarness();
    const sha = h.appRepo.shas[0]!;
    expect(await h.deliver('pull_request', prPayload(h, sha))).toBe(202);
    const first = await h.waitForRun((r) => r.state === 'succeeded', 'first run succeeded', 20_000);
    const suite = fixturePayload('check_suite-requested.json', h);
    suite.action = 'rerequested';
    Object.assign(suite.check_suite as object, {
      head_sha: sha,
      app: { ...(suite.check_suite as { app: object }).app, id: Number(h.config.github.appId) },
    });
    expect(await h.deliver('check_suite', suite)).toBe(202);
    const second = await h.waitForRun(
      (r) => r.id !== first.id && r.state === 'succeeded',
      'second run succeeded',
      20_000,
    );
    expect(second).toMatchObject({ kind: 'pr', prNumber: 7, sha });
  });

  it('completes the check as failed and ends the run when a gate gives up for good', async () => {
    // No tests worker: the tests gate job waits, as if every attempt had failed to check out.
    h = await startHarness({ workers: [pipelineWorker, trivyGateWorker, renderWorker] });
    const sha = h.appRepo.shas[0]!;
    expect(await h.deliver('pull_request', prPayload(h, sha))).toBe(202);
    const run = await eventually(
      async () => {
        const [latest] = (await h.runs.listRuns({ repo: 'acme/web' })).runs;
        return latest?.state === 'gating' && latest.gates?.trivy && latest.gates?.manifests
          ? latest
          : undefined;
      },
      20_000,
      'trivy and manifests done',
    );
    const testsCheck = h.github.checkRuns('acme', 'web').find((c) => c.name === 'shipgate/tests')!;

    const redis = testRedis();
    const engine = createEngineContext({
      config: h.config,
      logger: createLogger('silent'),
      redis,
      queues: h.queues,
      tuning: { github: { spaceWrites: false }, executor: { local: { mounts: fakeScannerMounts() } } },
    });
    const err = CheckoutFailed('acme/web', sha, 'remote hung up');
    await failGateStage(engine, { runId: run.id, checkRunId: testsCheck.id, key: 'tests', attempt: 4 }, err);

    const check = h.github.checkRuns('acme', 'web').find((c) => c.id === testsCheck.id)!;
    expect(check).toMatchObject({ status: 'completed', conclusion: 'failure' });
    expect(JSON.stringify(check.output)).toContain('SHIPGATE_E_CHECKOUT_FAILED');
    expect((await h.runs.requireRun(run.id)).state).toBe('failed');
    redis.disconnect();
  });
});
