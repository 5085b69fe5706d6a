import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bullmqPrefix } from '../../../src/queue/bullmq-prefix.js';
import { workerLiveness } from '../../../src/queue/worker-liveness.js';
import { ensureRunChecks } from '../../../src/engine/progress/run-checks.js';
import { enqueueStage } from '../../../src/engine/context/stage-jobs.js';
import { ensureDeployment, setDeploymentStatus } from '../../../src/github/index.js';
import {
  deployWorker,
  engineContextOf,
  pipelineWorker,
  renderWorker,
  testGateWorker,
  trivyGateWorker,
} from '../../../workers/engine-workers.js';
import { installFakeScanners, type FakeScanners } from '../../support/fake-scanners/install.js';
import { fixturePath } from '../../support/fixtures.js';
import { TEST_REDIS_URL } from '../../support/redis.js';
import { eventually, fixturePayload, startHarness, type Harness } from '../../support/shipgate-harness.js';

/**
 * Issue 17: a job BullMQ gives up on because it "stalled more than allowable limit" (its worker
 * kept dying, or missed its lock renewals) never reaches its handler. The run must still end,
 * with every check run and deployment completed. The job really stalls here: a worker child
 * process takes it and is killed with SIGKILL, and Shipgate's own worker finds the lapsed lock.
 */
const HOLDER = path.join(import.meta.dirname, '..', 'queue', 'hold-job.child.ts');
let scanners: FakeScanners;
const originalPath = process.env.PATH;
let h: Harness | undefined;
const kills: (() => void)[] = [];

beforeAll(() => {
  scanners = installFakeScanners();
  process.env.PATH = `${scanners.binDir}:${originalPath}`;
  scanners.configure({ trivy: { fixture: fixturePath('trivy', 'image-no-vulnerabilities.json') } });
});
afterAll(() => {
  process.env.PATH = originalPath;
  scanners.cleanup();
});
afterEach(async () => {
  for (const kill of kills.splice(0)) kill();
  await h?.close();
  h = undefined;
});

/**
 * Brings job `jobId` of `queue` to its last allowed stall: BullMQ counts stalls in the job's
 * `stc` field, and Shipgate allows 3 (10 for deploys, see workerLiveness); going through them
 * with real kills would only make the test minutes slower. Then a worker process takes the job
 * and is killed mid-job.
 */
async function stallForGood(harness: Harness, queue: 'trivy' | 'deploy', jobId: string): Promise<void> {
  await harness.workerCtx.producer.hset(
    `${bullmqPrefix(harness.config.queuePrefix)}:${queue}:${jobId}`,
    'stc',
    workerLiveness(queue).maxStalledCount!,
  );
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', HOLDER, TEST_REDIS_URL, harness.config.queuePrefix, queue],
    { stdio: ['ignore', 'pipe', 'inherit'], detached: true },
  );
  const kill = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  kills.push(kill);
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes(`took ${jobId}`)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`holding worker exited early (${code})`)));
  });
  kill();
}

describe('a job BullMQ gives up on for stalling', () => {
  it('fails its gate and the pull-request run, completing every check', async () => {
    h = await startHarness({ workers: [pipelineWorker] });
    const sha = h.appRepo.shas[0]!;
    const payload = fixturePayload('pull_request-opened.json', h);
    const pr = payload.pull_request as Record<string, Record<string, unknown>>;
    pr.head!.sha = sha;
    pr.head!.repo = { ...(pr.head!.repo as object), full_name: 'acme/web', fork: false };
    pr.base!.repo = { ...(pr.base!.repo as object), full_name: 'acme/web' };
    expect(await h.deliver('pull_request', payload)).toBe(202);
    const run = await h.waitForRun((r) => r.state === 'gating', 'pr run gating');
    const jobId = `${run.id}.gate.trivy.1`;
    await eventually(() => h!.queues.trivy.getJob(jobId), 10_000, 'trivy job queued');

    await stallForGood(h, 'trivy', jobId);
    h.startWorkers([testGateWorker, trivyGateWorker, renderWorker]);

    const failed = await h.waitForRun((r) => r.id === run.id && r.state === 'failed', 'run failed', 25_000);
    expect(failed.gates).toHaveProperty('trivy');
    // The run is failed first (so nothing starts on it again), then its open checks are closed.
    const checks = await eventually(
      () => {
        const all = h!.github.checkRuns('acme', 'web').filter((c) => c.head_sha === sha);
        return all.length > 0 && all.every((c) => c.status === 'completed') ? all : undefined;
      },
      10_000,
      'every check completed',
    );
    const trivy = checks.find((c) => c.name === 'shipgate/trivy')!;
    expect(trivy.conclusion).toBe('failure');
    expect(JSON.stringify(trivy.output)).toMatch(/stalled more than the allowed 3 times/);
    expect((await h.queues.trivy.getJob(jobId))?.failedReason).toBe('job stalled more than allowable limit');
  }, 45_000);

  it('fails a deploying release run and closes its open check and deployment, once', async () => {
    h = await startHarness({ workers: [] });
    const engine = engineContextOf(h.workerCtx);
    const { run } = await h.runs.createRun(
      {
        kind: 'release',
        repo: 'acme/web',
        installationId: h.installationId,
        sha: h.appRepo.shas[0]!,
        ref: 'refs/tags/v1.0.0',
        tag: 'v1.0.0',
        releaser: 'releaser-gh',
      },
      { idempotencyKey: 'abandoned-release' },
    );
    await h.runs.transition(run.id, { from: 'queued', to: 'gating' });
    await h.runs.transition(run.id, { from: 'gating', to: 'deploying', env: 'staging' });
    const { zap } = await ensureRunChecks(engine, run, ['zap']);
    const octokit = await engine.github.forInstallation(h.installationId);
    const { id: deploymentId } = await ensureDeployment(octokit, {
      owner: 'acme',
      repo: 'web',
      ref: run.sha,
      environment: 'staging',
      runId: run.id,
      description: 'v1.0.0 to staging',
    });
    await setDeploymentStatus(octokit, {
      owner: 'acme',
      repo: 'web',
      deploymentId,
      state: 'in_progress',
      description: 'deploying',
    });
    const jobId = await enqueueStage(h.queues, { stage: 'deploy', runId: run.id, env: 'staging' });

    await stallForGood(h, 'deploy', jobId);
    h.startWorkers([deployWorker]);

    const failed = await h.waitForRun(
      (r) => r.id === run.id && r.state === 'failed',
      'release failed',
      25_000,
    );
    expect(failed.reason).toMatch(
      /deploy job for staging its worker stopped .*the job stalled more than the allowed 10 times/,
    );
    const zapCheck = await eventually(
      () => h!.github.checkRuns('acme', 'web').find((c) => c.id === zap && c.status === 'completed'),
      10_000,
      'zap check completed',
    );
    expect(zapCheck.conclusion).toBe('failure');
    const statuses = await eventually(
      () => {
        const all = h!.github.deploymentStatuses(deploymentId);
        return all[0]?.state === 'error' ? all : undefined;
      },
      10_000,
      'deployment errored',
    );
    expect(String(statuses[0]!.description)).toMatch(/Shipgate gave up on this run/);
    // Reporting again (another worker's event, a replay) changes nothing.
    const { failAbandonedRun } = await import('../../../src/engine/progress/fail-abandoned-run.js');
    const again = await failAbandonedRun(engine, run.id, 'again');
    expect(again).toEqual({ failed: false, checksClosed: 0, deploymentsClosed: 0 });
    expect(h.github.deploymentStatuses(deploymentId).filter((s) => s.state === 'error')).toHaveLength(1);
  }, 45_000);
});
