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
 */
import { randomBytes } from 'node:crypto';
import { pipelineWorker } from '../workers/engine-workers.js';
import {
  eventually,
  fixturePayload,
  startHarness,
  WEB_PIPELINE,
  type Harness,
} from '../test/support/shipgate-harness.js';

const LATENCY_RUNS = Number(process.env.BENCH_LATENCY_RUNS ?? 100);
const BURST_RUNS = Number(process.env.BENCH_BURST_RUNS ?? 300);

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

async function main(): Promise<void> {
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
        (await h.runs.listRuns({ state: 'gating', limit: 100 })).runs.length >= 100 ? true : undefined,
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
