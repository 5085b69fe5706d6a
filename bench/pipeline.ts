/**
 * `npm run bench:pipeline`: how fast a pull-request webhook becomes a run with its check runs,
 * with every stage a no-op (only the pipeline worker runs; gate jobs stay queued).
 *
 * - Latency: from the 202 of the webhook to the first check run created on the GitHub
 *   stand-in, p50 and p99, at a steady 10 webhooks a second.
 * - Throughput: runs per second sustained when a burst of webhooks is queued at once, until
 *   every run has its checks and is gating.
 *
 * Everything is real but GitHub: fastify ingress, BullMQ on Redis, the run store, the policy
 * read from a git env repo over smart HTTP, Octokit with installation tokens.
 *
 * - Release latency (`BENCH_RELEASES`, default 5 per variant): every worker, the local
 *   executor, trivial gates (a test command that exits at once, a fake Trivy writing a clean
 *   report), the Argo CD, Kubernetes and Rollouts stand-ins. Tag webhook accepted → staging
 *   commit pushed, PR-style "all checks completed" (tests and trivy), and where the time goes,
 *   from the GitHub stand-in's request log. Side by side: GitHub write pacing as shipped (a
 *   burst of 15, then one a second) and the old pacing (one write a second, `writeBurst: 1`).
 */
import { randomBytes } from 'node:crypto';
import { startClusterStandIns, seedLiveRelease } from '../test/support/cluster-stand-ins.js';
import { installFakeScanners } from '../test/support/fake-scanners/install.js';
import { FIXTURES } from '../test/support/fixtures.js';
import { pipelineWorker } from '../workers/engine-workers.js';
import {
  eventually,
  fakeScannerMounts,
  fixturePayload,
  startHarness,
  WEB_PIPELINE,
  type Harness,
} from '../test/support/shipgate-harness.js';

const LATENCY_RUNS = Number(process.env.BENCH_LATENCY_RUNS ?? 100);
const BURST_RUNS = Number(process.env.BENCH_BURST_RUNS ?? 300);
const RELEASES = Number(process.env.BENCH_RELEASES ?? 5);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function prPayload(h: Harness, number: number, sha: string): Record<string, unknown> {
  const payload = fixturePayload('pull_request-opened.json', h);
  payload.number = number;
  const pr = payload.pull_request as Record<string, Record<string, unknown>>;
  (payload.pull_request as Record<string, unknown>).number = number;
  pr.head!.sha = sha;
  pr.head!.repo = { ...(pr.head!.repo as object), full_name: 'acme/web', fork: false };
  pr.base!.repo = { ...(pr.base!.repo as object), full_name: 'acme/web' };
  return payload;
}

interface ReleaseSample {
  toStagingCommit: number;
  toChecksDone: number;
  phases: Record<string, number>;
}

/** One release per tag, sequentially, through every worker; `writeBurst` picks the write pacing. */
async function releaseLatency(writeBurst: number): Promise<{ samples: ReleaseSample[]; tokens: number }> {
  const cluster = await startClusterStandIns();
  const h = await startHarness({
    env: cluster.env,
    engineTuning: {
      github: { spaceWrites: true, writeBurst, retryAfterBaseMs: 5 },
      // The sandboxed gates must reach the stand-in scanners, as in the tests.
      executor: { local: { mounts: fakeScannerMounts() } },
    },
  });
  const sim = cluster.simulate(h);
  await seedLiveRelease(h, sim, ['staging'], 'ghcr.io/acme/web:v0.9.0');
  const samples: ReleaseSample[] = [];
  try {
    for (let i = 0; i <= RELEASES; i += 1) {
      const tag = `v1.${i}.0`;
      const payload = fixturePayload('push-tag-created.docs-example.json', h);
      Object.assign(payload, {
        ref: `refs/tags/${tag}`,
        after: h.appRepo.shas[0],
        created: true,
        deleted: false,
      });
      (payload.sender as Record<string, unknown>).login = 'releaser-gh';
      const from = h.github.requests.length;
      // On a saturated machine the ingress may answer 503 (Redis over its bound): GitHub would
      // redeliver, so does the benchmark.
      let status = await h.deliver('push', payload);
      for (let retry = 0; status === 503 && retry < 5; retry += 1) status = await h.deliver('push', payload);
      const accepted = Date.now();
      if (status !== 202) throw new Error(`tag webhook answered ${status}`);
      const run = await h
        .waitForRun(
          (r) => r.tag === tag && r.state === 'awaiting-approval',
          `${tag} awaiting approval`,
          60_000,
        )
        .catch(async (err: unknown) => {
          const runs = (await h.runs.listRuns({ repo: 'acme/web' })).runs;
          console.error(runs.map((r) => `${r.tag} ${r.state} ${r.reason ?? ''}`).join('\n'));
          throw err;
        });
      const log = h.github.requests.slice(from);
      const first = (test: (r: (typeof log)[number]) => boolean) => log.find(test)?.at;
      const last = (test: (r: (typeof log)[number]) => boolean) => log.findLast(test)?.at;
      const isCompletion = (r: (typeof log)[number]) =>
        r.method === 'PATCH' &&
        /\/check-runs\/\d+$/.test(r.path) &&
        (r.body as { status?: string } | undefined)?.status === 'completed';
      const push = first((r) => r.path === '/acme/environments.git/git-receive-pack');
      const token = first((r) => r.method === 'POST' && r.path.endsWith('/access_tokens'));
      const config = first((r) => r.method === 'GET' && r.path.includes('/contents/.shipgate.yml'));
      const firstCheck = first((r) => r.method === 'POST' && r.path.endsWith('/check-runs'));
      const push0 = first((r) => r.path === '/acme/environments.git/git-receive-pack') ?? Infinity;
      // The gates' checks (config, tests, trivy, manifests); ZAP's completes after the deploy.
      const checksDone = last((r) => isCompletion(r) && r.at <= push0);
      const envFetch = first(
        (r) => r.path.startsWith('/acme/environments.git/') && r.at >= (checksDone ?? Infinity),
      );

      if (!push || !checksDone || !firstCheck)
        throw new Error(`${tag}: no staging push or checks (run ${run.id})`);
      if (i === 0) continue; // warm-up: JIT, first token, policy fetch
      const phases: Record<string, number> = {
        'webhook → .shipgate.yml read (incl. token when minted)': (config ?? firstCheck) - accepted,
        '… → first check run created': firstCheck - (config ?? accepted),
        '… → gates done (checkout + tests + trivy, all checks completed)': checksDone - firstCheck,
        '… → deploy stage: env repo fetched': (envFetch ?? push) - checksDone,
        '… → staging commit pushed (render + commit)': push - (envFetch ?? checksDone),
      };
      if (token) phases['(installation token minted in this run)'] = 1;
      samples.push({ toStagingCommit: push - accepted, toChecksDone: checksDone - accepted, phases });
    }
  } finally {
    await h.close();
    await cluster.close();
  }
  return { samples, tokens: h.github.tokensIssued };
}

function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

async function releaseBenchmark(): Promise<void> {
  const scanners = installFakeScanners();
  const originalPath = process.env.PATH;
  process.env.PATH = `${scanners.binDir}:${originalPath}`;
  scanners.configure({
    trivy: { fixture: `${FIXTURES}/trivy/image-no-vulnerabilities.json` },
    zap: { fixture: `${FIXTURES}/zap/baseline-zap2.14-medium-low-info.json` },
  });
  try {
    const shipped = await releaseLatency(15);
    const old = await releaseLatency(1);
    console.log(
      `\nRelease latency, local executor and trivial gates, ${RELEASES} tags per variant (ms, p50)`,
    );
    console.log('| measure | pacing as shipped (burst 15) | old pacing (1 write/s) | old ÷ shipped |');
    console.log('|---|---:|---:|---:|');
    const row = (label: string, a: number, b: number) =>
      console.log(`| ${label} | ${a.toFixed(0)} | ${b.toFixed(0)} | ${(b / Math.max(1, a)).toFixed(1)}× |`);
    row(
      'tag accepted → staging commit pushed',
      median(shipped.samples.map((s) => s.toStagingCommit)),
      median(old.samples.map((s) => s.toStagingCommit)),
    );
    row(
      'tag accepted → gate checks completed',
      median(shipped.samples.map((s) => s.toChecksDone)),
      median(old.samples.map((s) => s.toChecksDone)),
    );
    for (const phase of Object.keys(shipped.samples[0]?.phases ?? {})) {
      if (phase.startsWith('(')) continue;
      row(
        phase,
        median(shipped.samples.map((s) => s.phases[phase] ?? 0)),
        median(old.samples.map((s) => s.phases[phase] ?? 0)),
      );
    }
    // Shipgate's own share of the way to staging: everything but the gates' checkout and runs
    // (the time a no-op gate would leave), per release, as p50 and p99 (= max for small N).
    const gatesPhase = '… → gates done (checkout + tests + trivy, all checks completed)';
    const overhead = shipped.samples
      .map((s) => s.toStagingCommit - (s.phases[gatesPhase] ?? 0))
      .sort((a, b) => a - b);
    console.log(
      `tag accepted → staging commit pushed, gates' own time excluded (shipped pacing): p50 ${percentile(overhead, 50)} ms, p99 ${percentile(overhead, 99)} ms (n=${overhead.length})`,
    );
    const max = Math.max(...shipped.samples.map((s) => s.toStagingCommit));
    console.log(
      `tag → staging commit max (shipped pacing): ${max} ms; installation tokens minted in all: ${shipped.tokens} (shipped), ${old.tokens} (old)`,
    );
  } finally {
    process.env.PATH = originalPath;
    scanners.cleanup();
  }
}

async function main(): Promise<void> {
  if (process.env.BENCH_ONLY !== 'first-check') await releaseBenchmark();
  if (process.env.BENCH_ONLY === 'release') return;
  const h = await startHarness({
    workers: [{ ...pipelineWorker, concurrency: Number(process.env.BENCH_CONCURRENCY ?? 8) }],
  });
  let prNumber = 1;
  const newSha = () => {
    const sha = randomBytes(20).toString('hex');
    h.github.setFile('acme', 'web', sha, '.shipgate.yml', WEB_PIPELINE);
    return sha;
  };
  const firstCheckAt = (sha: string) =>
    h.github.requests.find(
      (r) =>
        r.method === 'POST' &&
        r.path.endsWith('/check-runs') &&
        (r.body as { head_sha?: string } | undefined)?.head_sha === sha,
    )?.at;

  try {
    // Warm-up: token minting, policy fetch, JIT.
    const warm = newSha();
    await h.deliver('pull_request', prPayload(h, prNumber++, warm));
    await eventually(() => firstCheckAt(warm), 30_000, 'warm-up check run');

    // 1. Latency at a steady 10 webhooks a second.
    const latencies: number[] = [];
    const pending: Promise<void>[] = [];
    for (let i = 0; i < LATENCY_RUNS; i += 1) {
      const sha = newSha();
      const payload = prPayload(h, prNumber++, sha);
      pending.push(
        (async () => {
          const status = await h.deliver('pull_request', payload);
          const accepted = Date.now();
          if (status !== 202) throw new Error(`webhook answered ${status}`);
          const created = await eventually(() => firstCheckAt(sha), 30_000, 'first check run');
          latencies.push(Math.max(0, created - accepted));
        })(),
      );
      await new Promise((r) => setTimeout(r, 100));
    }
    await Promise.all(pending);
    latencies.sort((a, b) => a - b);

    // 2. Sustained runs per second: a burst, until every run is gating with its checks.
    const started = Date.now();
    const burst: Promise<number>[] = [];
    for (let i = 0; i < BURST_RUNS; i += 1)
      burst.push(h.deliver('pull_request', prPayload(h, prNumber++, newSha())));
    const statuses = await Promise.all(burst);
    if (statuses.some((s) => s !== 202)) throw new Error('a burst webhook was not accepted');
    await eventually(
      async () =>
        (await h.runs.listRuns({ state: 'gating', limit: 100 })).runs.length >=
        Math.min(100, BURST_RUNS + LATENCY_RUNS + 1)
          ? true
          : undefined,
      120_000,
      'runs gating',
    );
    await eventually(
      async () =>
        ((await h.queues.webhook.getJobCounts('completed')).completed ?? 0) >= BURST_RUNS + LATENCY_RUNS + 1,
      180_000,
      'all webhook jobs done',
    );
    const seconds = (Date.now() - started) / 1000;

    console.log(`\nShipgate pipeline benchmark (pipeline worker concurrency 8, stages no-op)`);
    console.log(`webhook accepted → first check run created, n=${latencies.length} at 10/s:`);
    console.log(
      `  p50 ${percentile(latencies, 50)} ms   p99 ${percentile(latencies, 99)} ms   max ${latencies.at(-1)} ms`,
    );
    console.log(`burst of ${BURST_RUNS} PR webhooks → runs gating with 4 check runs each:`);
    console.log(`  ${(BURST_RUNS / seconds).toFixed(1)} runs/s sustained (${seconds.toFixed(1)} s)`);
  } catch (err) {
    // Say where the pipeline stood, so a failed run is diagnosable.
    console.error('webhook jobs', await h.queues.webhook.getJobCounts());
    const failed = await h.queues.webhook.getFailed(0, 3);
    for (const job of failed) console.error('failed job', job.id, job.failedReason);
    throw err;
  } finally {
    await h.close();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
