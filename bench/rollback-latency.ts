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
 */
import { performance } from 'node:perf_hooks';
import { runDeploy } from '../src/deploy/run-deploy.js';
import { startDeployHarness } from '../test/integration/deploy/deploy-harness.js';

const runs = Number(process.argv[2] ?? 25);

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

const toAbort: number[] = [];
const toRevert: number[] = [];
const toFailureStatus: number[] = [];

for (let i = 0; i < runs; i++) {
  const h = await startDeployHarness({ pre: 'Failed', holdPre: true });
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
  const ports = h.ports();
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
  const deploy = runDeploy(h.input(), ports, { pollIntervalMs: Number(process.env.POLL_MS ?? 2_000) });
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
  await h.close();
  if (result.outcome !== 'rolled-back' || !visibleAt || !abortAt || !revertAt) {
    throw new Error(`run ${i}: unexpected ${JSON.stringify(result)}`);
  }
  toAbort.push(abortAt - visibleAt);
  toRevert.push(revertAt - visibleAt);
  toFailureStatus.push(failureAt - visibleAt);
}

const rows = [
  ['failing AnalysisRun visible → abort received by Argo CD', toAbort],
  ['failing AnalysisRun visible → revert commit pushed', toRevert],
  ['failing AnalysisRun visible → revert synced + deployment failure', toFailureStatus],
] as const;
console.log(`rollback latency over ${runs} runs (ms)`);
console.log('| step | p50 | p99 | max |');
console.log('|---|---|---|---|');
for (const [label, values] of rows) {
  const sorted = [...values].sort((a, b) => a - b);
  console.log(
    `| ${label} | ${percentile(sorted, 50).toFixed(0)} | ${percentile(sorted, 99).toFixed(0)} | ${sorted.at(-1)!.toFixed(0)} |`,
  );
}
process.exit(0);
