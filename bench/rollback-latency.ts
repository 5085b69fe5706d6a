/**
 * Rollback latency: from the moment a failing pre-promotion AnalysisRun becomes visible in
 * the Kubernetes API to (a) the Rollout `abort` reaching Argo CD and (b) the revert commit
 * pushed to the env repo (the GitOps writer's real `git` revert to a bare remote on disk).
 *
 *   npx tsx bench/rollback-latency.ts [runs=25]
 *
 * The failing result is released once Shipgate watches the paused Rollout (a real analysis
 * takes at least one measurement interval). Each run is a full deploy (runDeploy with the real Argo CD client, the real client-node
 * watch, real Redis for step-once, real git) against the Argo CD and Kubernetes stand-ins;
 * setting up the stand-ins and the repo is outside the measured window.
 *
 * Two modes, interleaved run by run in one process: `stream`, where the Argo CD stand-in
 * serves its application watch stream and Shipgate waits on it, and `poll`, the baseline,
 * where the stand-in refuses the stream (a proxy's 503) so Shipgate falls back to polling
 * every POLL_MS (2 s, the interval it polled at before the stream).
 */
import { performance } from 'node:perf_hooks';
import { createArgoCdClient } from '../src/argocd/argocd-client.js';
import { runDeploy } from '../src/deploy/run-deploy.js';
import { APP, startDeployHarness } from '../test/integration/deploy/deploy-harness.js';

const runs = Number(process.argv[2] ?? 25);

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

const POLL_MS = Number(process.env.POLL_MS ?? 2_000);
type Mode = 'stream' | 'poll';
const samples: Record<Mode, { toAbort: number[]; toRevert: number[]; toFailureStatus: number[] }> = {
  stream: { toAbort: [], toRevert: [], toFailureStatus: [] },
  poll: { toAbort: [], toRevert: [], toFailureStatus: [] },
};

for (let i = 0; i < runs * 2; i++) {
  const mode: Mode = i % 2 === 0 ? 'stream' : 'poll';
  const { toAbort, toRevert, toFailureStatus } = samples[mode];
  const h = await startDeployHarness({ pre: 'Failed', holdPre: true });
  if (mode === 'poll') h.argo.streams.refuse('503');
  // Argo CD takes a moment to apply a sync; 20 ms (the stand-in's default) would let the GET
  // right after the sync request see it done in either mode.
  h.argo.onSync(APP, { delayMs: Number(process.env.SYNC_MS ?? 300) });
  const argocd = createArgoCdClient({
    server: h.argo.url,
    token: h.argo.token,
    retries: 2,
    backoffBaseMs: 20,
    timeoutMs: 2_000,
    watch: { fallbackPollMs: POLL_MS },
  });
  let visibleAt = 0;
  let abortAt = 0;
  let revertAt = 0;
  const patchStatus = h.kube.patchStatus.bind(h.kube);
  h.kube.patchStatus = (plural, namespace, name, status) => {
    const out = patchStatus(plural, namespace, name, status);
    // The stand-in has written the object and emitted the watch event when this returns.
    if (plural === 'analysisruns' && status.phase === 'Failed' && visibleAt === 0)
      visibleAt = performance.now();
    return out;
  };
  h.argo.onAction(({ body }) => {
    if (body.action === 'abort' && abortAt === 0) abortAt = performance.now();
  });
  const ports = { ...h.ports(), argocd };
  const revert = ports.revert;
  ports.revert = async (reason) => {
    const r = await revert(reason);
    revertAt = performance.now();
    return r;
  };
  const deploymentStatus = ports.deploymentStatus;
  let failureAt = 0;
  ports.deploymentStatus = async (state, description) => {
    if (state === 'failure') failureAt = performance.now();
    await deploymentStatus(state, description);
  };
  const deploy = runDeploy(h.input(), ports, { pollIntervalMs: POLL_MS });
  // Fail the analysis once Shipgate is watching the paused Rollout, as a real analysis
  // (which takes at least one measurement interval) would.
  await h.until(
    () => h.kube.openWatchCount() >= 2 && h.events.some((e) => e.type === 'synced'),
    'the watch',
    30_000,
  );
  await new Promise((r) => setTimeout(r, 50));
  if (!h.finishPre()) throw new Error('no pre-promotion run to fail');
  const result = await deploy;
  argocd.close();
  await h.close();
  if (result.outcome !== 'rolled-back' || !visibleAt || !abortAt || !revertAt) {
    throw new Error(`run ${i}: unexpected ${JSON.stringify(result)}`);
  }
  toAbort.push(abortAt - visibleAt);
  toRevert.push(revertAt - visibleAt);
  toFailureStatus.push(failureAt - visibleAt);
}

const p = (values: number[], q: number) =>
  percentile(
    [...values].sort((a, b) => a - b),
    q,
  );
const rows = [
  ['failing AnalysisRun visible → abort received by Argo CD', 'toAbort'],
  ['failing AnalysisRun visible → revert commit pushed', 'toRevert'],
  ['failing AnalysisRun visible → revert synced + deployment failure', 'toFailureStatus'],
] as const;
console.log(
  `rollback latency, ${runs} runs per mode, interleaved (ms); poll = stream refused, ${POLL_MS} ms poll`,
);
console.log('| step | stream p50 | stream p99 | poll p50 | poll p99 | p50 poll ÷ stream |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const [label, key] of rows) {
  const s50 = p(samples.stream[key], 50);
  const l50 = p(samples.poll[key], 50);
  console.log(
    `| ${label} | ${s50.toFixed(0)} | ${p(samples.stream[key], 99).toFixed(0)} | ${l50.toFixed(0)} | ${p(samples.poll[key], 99).toFixed(0)} | ${(l50 / Math.max(1, s50)).toFixed(1)}× |`,
  );
}
process.exit(0);
