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
 * - Release latency (`BENCH_ONLY=release BENCH_RELEASES=5`, tags per column after a warm-up):
 *   every worker with the local executor (real checkout, real sandboxed processes), a fake
 *   Trivy writing a clean report (image mode: no checkout), and the Argo CD, Kubernetes and
 *   Rollouts stand-ins. Tag webhook accepted → staging commit pushed, p50 and p99, side by side:
 *   - "no-op gates": the test command is `true`, so each gate job is Shipgate's own work (job,
 *     checkout, sandbox, report, check runs) and nothing of the app's;
 *   - "trivial gates": the fixture app's `sh ./run-tests.sh`;
 *   - "write pacing off": no-op gates with GitHub write pacing off (what is left of Shipgate's time);
 *   - "after a quiet spell": no-op and trivial gates, each tag sent once the write bucket is full
 *     again (releases of one installation minutes apart, as they mostly are);
 *   - with `BENCH_OLD_PACING=1`, also the old GitHub write pacing (one write a second).
 *   `BENCH_VARIANTS=quiet,off` runs only the columns (release and PR) whose names contain one of those words.
 *   GitHub API writes per release (POST/PATCH/PUT/DELETE in the stand-in's log, by endpoint).
 *
 * - PR latency (`BENCH_ONLY=pr`, same count): every worker, trivial gates; PR webhook accepted →
 *   the last of its four check runs completed, PRs one after another, paced, unpaced and after a
 *   quiet spell; GitHub API writes per PR run.
 *   Where the time goes (token minting, `.shipgate.yml`, policy load, checkout, gate jobs,
 *   render + commit + push) comes from the GitHub stand-in's request log, whose git and API
 *   requests carry their arrival and completion times. `BENCH_EVENTS=1` also prints the last
 *   run's own event log (the timestamps Shipgate records in the run store).
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
  /** The run's gate stage: its move to `gating` → its move to `deploying`. */
  gateStage: number;
  phases: Record<string, number>;
  /** GitHub API writes from the tag webhook until the run awaits approval, by endpoint. */
  writes: Map<string, number>;
}

interface ReleaseVariant {
  name: string;
  /** GitHub write pacing: 15 is as shipped, 1 the old one-write-a-second pacing. */
  writeBurst: number;
  /**
   * GitHub write pacing on (as shipped) or off: back-to-back releases drain the burst, so every
   * later write waits for the 1/s refill; off shows what is left of Shipgate's own time.
   * @defaultValue true
   */
  spaceWrites?: boolean;
  /** The app's test command (the tests gate); Trivy is the fake scanner, image mode, no checkout. */
  testCommand: string;
  /**
   * Wait before each tag long enough for the write bucket to refill (burst + 1 s): a release
   * after a quiet spell, against the default of releases back to back. @defaultValue false
   */
  quiet?: boolean;
}

type Logged = Harness['github']['requests'][number];

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);
/**
 * GitHub API writes in a slice of the stand-in's request log, by endpoint (ids folded to
 * `{id}`): what Shipgate's write pacing spaces out. Git smart-HTTP POSTs are not API calls, and
 * token minting is not paced (the throttling plugin counts it as auth), so both are left out.
 */
function apiWrites(log: Logged[]): Map<string, number> {
  const byEndpoint = new Map<string, number>();
  for (const r of log) {
    if (!WRITE_METHODS.has(r.method) || r.path.includes('.git/') || r.path.endsWith('/access_tokens'))
      continue;
    const route = r.path
      .split('?')[0]!
      .replace(/^\/repos\/[^/]+\/[^/]+/, '/repos/{o}/{r}')
      .replace(/\/\d+(?=\/|$)/g, '/{id}');
    const key = `${r.method} ${route}`;
    byEndpoint.set(key, (byEndpoint.get(key) ?? 0) + 1);
  }
  return byEndpoint;
}
const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/** Mean writes per run for each endpoint, over `perRun` (one map per run), as printed rows. */
function writeTable(title: string, columns: { name: string; perRun: Map<string, number>[] }[]): void {
  const endpoints = [...new Set(columns.flatMap((c) => c.perRun.flatMap((m) => [...m.keys()])))].sort();
  const mean = (runs: Map<string, number>[], pick: (m: Map<string, number>) => number) =>
    runs.length ? (runs.reduce((a, m) => a + pick(m), 0) / runs.length).toFixed(1).replace(/\.0$/, '') : '–';
  console.log(`\n${title}`);
  console.log(`| GitHub API writes per run | ${columns.map((c) => c.name).join(' | ')} |`);
  console.log(`|---|${columns.map(() => '---:|').join('')}`);
  console.log(`| **total** | ${columns.map((c) => `**${mean(c.perRun, total)}**`).join(' | ')} |`);
  for (const e of endpoints)
    console.log(`| \`${e}\` | ${columns.map((c) => mean(c.perRun, (m) => m.get(e) ?? 0)).join(' | ')} |`);
}
const span = (records: Logged[]) =>
  records.length === 0 ? 0 : Math.max(...records.map((r) => r.doneAt ?? r.at)) - records[0]!.at;
const busy = (records: Logged[]) => records.reduce((sum, r) => sum + ((r.doneAt ?? r.at) - r.at), 0);

/** The cluster stand-ins and a harness running the app's pipeline with the variant's settings. */
async function startVariant(variant: ReleaseVariant) {
  const cluster = await startClusterStandIns();
  const h = await startHarness({
    env: cluster.env,
    appFiles: {
      '.shipgate.yml': WEB_PIPELINE.replace(
        'command: sh ./run-tests.sh',
        `command: ${JSON.stringify(variant.testCommand)}`,
      ),
    },
    engineTuning: {
      github: {
        spaceWrites: variant.spaceWrites ?? true,
        writeBurst: variant.writeBurst,
        retryAfterBaseMs: 5,
      },
      // The sandboxed gates must reach the fake scanners, as in the tests.
      executor: { local: { mounts: fakeScannerMounts() } },
    },
  });
  return { cluster, h };
}

/** One release per tag, sequentially, through every worker. */
async function releaseLatency(
  variant: ReleaseVariant,
): Promise<{ samples: ReleaseSample[]; tokens: number }> {
  const { cluster, h } = await startVariant(variant);
  const sim = cluster.simulate(h);
  await seedLiveRelease(h, sim, ['staging'], 'ghcr.io/acme/web:v0.9.0');
  const samples: ReleaseSample[] = [];
  // Where each measured release's slice of the request log starts: its writes are counted up to
  // the next tag (some land after the run awaits approval), the last one after a short settle.
  const windows: number[] = [];
  try {
    for (let i = 0; i <= RELEASES; i += 1) {
      const tag = `v1.${i}.0`;
      if (variant.quiet) await new Promise((r) => setTimeout(r, (variant.writeBurst + 1) * 1000));
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
          120_000,
        )
        .catch(async (err: unknown) => {
          const runs = (await h.runs.listRuns({ repo: 'acme/web' })).runs;
          console.error(runs.map((r) => `${r.tag} ${r.state} ${r.reason ?? ''}`).join('\n'));
          throw err;
        });
      const log = h.github.requests.slice(from);
      const events = await h.runs.getEvents(run.id);
      const entered = (state: string) => {
        const event = events.find((e) => e.transition?.to === state);
        if (!event) throw new Error(`${tag}: the run never entered ${state} (run ${run.id})`);
        return Date.parse(event.at);
      };
      const gating = entered('gating');
      const deploying = entered('deploying');
      const push = log.find((r) => r.path === '/acme/environments.git/git-receive-pack');
      if (!push) throw new Error(`${tag}: no staging push (run ${run.id})`);
      const pushed = push.doneAt ?? push.at;
      const within = (r: Logged, from: number, to: number) => r.at >= from && r.at <= to;
      const envRepo = (r: Logged) => r.path.startsWith('/acme/environments.git/');
      const envFetch = log.filter((r) => envRepo(r) && r !== push && within(r, deploying, push.at));
      const fetched = envFetch.length ? Math.max(...envFetch.map((r) => r.doneAt ?? r.at)) : deploying;
      const phases: Record<string, number> = {
        'webhook → run gating (run, token, config, policy, check runs)': gating - accepted,
        '… of which token minting (0 when cached)': busy(
          log.filter((r) => r.path.endsWith('/access_tokens')),
        ),
        '… of which .shipgate.yml read (contents API)': busy(
          log.filter((r) => r.path.includes('/contents/.shipgate.yml') && r.at <= gating),
        ),
        '… of which policy load (env-repo fetch, 0 when cached)': span(
          log.filter((r) => envRepo(r) && r.at <= gating),
        ),
        'gate stage (gating → deploying)': deploying - gating,
        '… of which checkout (clone of the tag for the tests gate)': span(
          log.filter((r) => r.path.startsWith('/acme/web.git/') && within(r, gating, deploying)),
        ),
        'deploy stage → staging commit pushed': pushed - deploying,
        '… of which preflight + env-repo fetch (deploying → fetched)': envFetch.length
          ? fetched - deploying
          : 0,
        '… of which render + commit': push.at - fetched,
        '… of which push (receive-pack)': pushed - push.at,
      };
      if (i === 0) continue; // warm-up: JIT, first token, policy fetch
      if (i === RELEASES && process.env.BENCH_EVENTS === '1') {
        // Where the time went, as Shipgate recorded it in the run's event log.
        console.log(`\n${variant.name}, ${tag}: run events (ms after the webhook was accepted)`);
        for (const e of events)
          console.log(`  +${Date.parse(e.at) - accepted}\t${e.type}\t${e.message.slice(0, 90)}`);
      }
      samples.push({
        toStagingCommit: pushed - accepted,
        gateStage: deploying - gating,
        phases,
        writes: new Map(),
      });
      windows.push(from);
    }
    await new Promise((r) => setTimeout(r, 1_000));
    windows.push(h.github.requests.length);
    samples.forEach((s, k) => (s.writes = apiWrites(h.github.requests.slice(windows[k], windows[k + 1]))));
  } finally {
    await h.close();
    await cluster.close();
  }
  return { samples, tokens: h.github.tokensIssued };
}

interface PrSample {
  /** PR webhook accepted → the last of the run's check runs completed on the stand-in. */
  toAllChecksCompleted: number;
  writes: Map<string, number>;
}

/**
 * One pull request at a time through every worker, each opened once the previous run's checks
 * are all completed: config, tests, Trivy (fs) and the manifests diff.
 */
async function prLatency(variant: ReleaseVariant): Promise<PrSample[]> {
  const { cluster, h } = await startVariant(variant);
  const samples: PrSample[] = [];
  const windows: number[] = [];
  const sha = h.appRepo.shas[0]!;
  try {
    for (let i = 0; i <= RELEASES; i += 1) {
      if (variant.quiet) await new Promise((r) => setTimeout(r, (variant.writeBurst + 1) * 1000));
      const number = 100 + i;
      const from = h.github.requests.length;
      let status = await h.deliver('pull_request', prPayload(h, number, sha));
      for (let retry = 0; status === 503 && retry < 5; retry += 1)
        status = await h.deliver('pull_request', prPayload(h, number, sha));
      const accepted = Date.now();
      if (status !== 202) throw new Error(`PR webhook answered ${status}`);
      const run = await h.waitForRun(
        (r) => r.prNumber === number && (r.state === 'succeeded' || r.state === 'failed'),
        `PR #${number} done`,
        120_000,
      );
      if (run.state !== 'succeeded') throw new Error(`PR #${number}: run ${run.state} (${run.reason ?? ''})`);
      const mine = h.github.checkRuns('acme', 'web').filter((c) => String(c.external_id).includes(run.id));
      const completed = await eventually(
        () => (mine.length >= 4 && mine.every((c) => c.status === 'completed') ? mine : undefined),
        30_000,
        `PR #${number} checks completed`,
      );
      const ids = new Set(completed.map((c) => c.id));
      const completions = h.github.requests
        .slice(from)
        .filter(
          (r) =>
            (r.method === 'PATCH' || r.method === 'POST') &&
            r.path.includes('/check-runs') &&
            (r.body as { status?: string } | undefined)?.status === 'completed' &&
            (r.method === 'POST' || ids.has(Number(/check-runs\/(\d+)/.exec(r.path)?.[1]))),
        );
      const last = Math.max(...completions.map((r) => r.doneAt ?? r.at));
      if (i === 0) continue; // warm-up
      samples.push({ toAllChecksCompleted: last - accepted, writes: new Map() });
      windows.push(from);
    }
    await new Promise((r) => setTimeout(r, 1_000));
    windows.push(h.github.requests.length);
    samples.forEach((s, k) => (s.writes = apiWrites(h.github.requests.slice(windows[k], windows[k + 1]))));
  } finally {
    await h.close();
    await cluster.close();
  }
  return samples;
}

async function prBenchmark(): Promise<void> {
  const variants: ReleaseVariant[] = [
    { name: 'trivial gates', writeBurst: 15, testCommand: 'sh ./run-tests.sh' },
    {
      name: 'trivial gates, write pacing off',
      writeBurst: 15,
      spaceWrites: false,
      testCommand: 'sh ./run-tests.sh',
    },
    {
      name: 'trivial gates, after a quiet spell',
      writeBurst: 15,
      testCommand: 'sh ./run-tests.sh',
      quiet: true,
    },
  ];
  const results: { variant: ReleaseVariant; samples: PrSample[] }[] = [];
  for (const variant of variants.filter(chosen)) results.push({ variant, samples: await prLatency(variant) });
  console.log(
    `\nPR latency: every worker, local executor, fake Trivy (fs), ${RELEASES} PRs per column after a warm-up, each opened when the last one's checks completed (ms)`,
  );
  console.log(`| measure | ${results.map((r) => r.variant.name).join(' | ')} |`);
  console.log(`|---|${results.map(() => '---:|').join('')}`);
  for (const p of [50, 99]) {
    const cells = results.map((r) =>
      percentile(
        r.samples.map((s) => s.toAllChecksCompleted).sort((a, b) => a - b),
        p,
      ).toFixed(0),
    );
    console.log(`| **PR opened → all checks completed** p${p} | ${cells.join(' | ')} |`);
  }
  writeTable(
    'GitHub writes per pull-request run (webhook → the next PR; mean over the PRs above)',
    results.map((r) => ({ name: r.variant.name, perRun: r.samples.map((s) => s.writes) })),
  );
}

/** The fake Trivy (clean report) and ZAP on PATH for the local executor, as in the tests. */
/** `BENCH_VARIANTS=off,quiet`: only the columns whose name contains one of these words. */
function chosen(variant: ReleaseVariant): boolean {
  const words = (process.env.BENCH_VARIANTS ?? '').split(',').filter(Boolean);
  return words.length === 0 || words.some((w) => variant.name.includes(w));
}

async function withFakeScanners(run: () => Promise<void>): Promise<void> {
  const scanners = installFakeScanners();
  const originalPath = process.env.PATH;
  process.env.PATH = `${scanners.binDir}:${originalPath}`;
  scanners.configure({
    trivy: { fixture: `${FIXTURES}/trivy/image-no-vulnerabilities.json` },
    zap: { fixture: `${FIXTURES}/zap/baseline-zap2.14-medium-low-info.json` },
  });
  try {
    await run();
  } finally {
    process.env.PATH = originalPath;
    scanners.cleanup();
  }
}

async function releaseBenchmark(): Promise<void> {
  const variants: ReleaseVariant[] = [
    { name: 'no-op gates', writeBurst: 15, testCommand: 'true' },
    { name: 'trivial gates', writeBurst: 15, testCommand: 'sh ./run-tests.sh' },
    { name: 'no-op gates, write pacing off', writeBurst: 15, spaceWrites: false, testCommand: 'true' },
    { name: 'no-op gates, after a quiet spell', writeBurst: 15, testCommand: 'true', quiet: true },
    {
      name: 'trivial gates, after a quiet spell',
      writeBurst: 15,
      testCommand: 'sh ./run-tests.sh',
      quiet: true,
    },
  ];
  if (process.env.BENCH_OLD_PACING === '1')
    variants.push({ name: 'trivial gates, old pacing', writeBurst: 1, testCommand: 'sh ./run-tests.sh' });
  const results: ({ variant: ReleaseVariant } & Awaited<ReturnType<typeof releaseLatency>>)[] = [];
  for (const variant of variants.filter(chosen))
    results.push({ variant, ...(await releaseLatency(variant)) });
  console.log(
    `\nRelease latency: every worker, local executor, fake Trivy (image mode), ${RELEASES} tags per column after a warm-up (ms)`,
  );
  console.log(`| measure | ${results.map((r) => r.variant.name).join(' | ')} |`);
  console.log(`|---|${results.map(() => '---:|').join('')}`);
  const row = (label: string, pick: (s: ReleaseSample) => number, ps = [50]) => {
    for (const p of ps) {
      const cells = results.map((r) =>
        percentile(
          r.samples.map(pick).sort((a, b) => a - b),
          p,
        ).toFixed(0),
      );
      console.log(`| ${label}${ps.length > 1 ? ` p${p}` : ''} | ${cells.join(' | ')} |`);
    }
  };
  row('**tag accepted → staging commit pushed**', (s) => s.toStagingCommit, [50, 99]);
  row(
    "Shipgate's own time: tag → staging minus the gate stage",
    (s) => s.toStagingCommit - s.gateStage,
    [50, 99],
  );
  for (const phase of Object.keys(results[0]?.samples[0]?.phases ?? {}))
    row(`  ${phase}`, (s) => s.phases[phase] ?? 0);
  console.log(
    `p99 is the maximum below 100 tags. Installation tokens minted: ${results.map((r) => `${r.tokens} (${r.variant.name})`).join(', ')}`,
  );
  writeTable(
    'GitHub writes per release (tag webhook → run awaiting approval; mean over the tags above)',
    results.map((r) => ({ name: r.variant.name, perRun: r.samples.map((s) => s.writes) })),
  );
}

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY;
  if (only === undefined || only === 'release') await withFakeScanners(releaseBenchmark);
  if (only === undefined || only === 'pr') await withFakeScanners(prBenchmark);
  if (only === 'release' || only === 'pr') return;
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
