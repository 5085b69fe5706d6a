import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createKubeRolloutSource, type RolloutWatch } from '../../../src/deploy/watch-rollout.js';
import {
  startKubeApiStandIn,
  type KubeObject,
  type KubeStandIn,
} from '../../../sandbox/kube-api-stand-in.js';
import {
  expectRefusedFirstListFailsTyped,
  FAST_RELIST,
  kubeConfigFor,
  untilSnapshot as until,
} from './kube-watch-fixture.js';

const NS = 'web-staging';
const rollout = (name: string, image: string): KubeObject => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'Rollout',
  metadata: { name, namespace: NS },
  spec: {
    selector: { matchLabels: { app: name } },
    template: { spec: { containers: [{ name, image }] } },
    strategy: { blueGreen: { activeService: name } },
  },
});
const run = (name: string, owner: string, uid: string): KubeObject => ({
  apiVersion: 'argoproj.io/v1alpha1',
  kind: 'AnalysisRun',
  metadata: {
    name,
    namespace: NS,
    ownerReferences: [{ apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: owner, uid }],
  },
  spec: { metrics: [] },
  status: { phase: 'Running' },
});

describe('createKubeRolloutSource', () => {
  let kube: KubeStandIn;
  let watch: RolloutWatch | undefined;
  beforeEach(async () => {
    kube = await startKubeApiStandIn();
  });
  afterEach(async () => {
    watch?.close();
    await kube.close();
  });

  async function open() {
    watch = await createKubeRolloutSource(kubeConfigFor(kube), FAST_RELIST).open({
      namespace: NS,
      name: 'web',
    });
    return watch;
  }

  it('lists, then follows changes to the Rollout and only the AnalysisRuns it owns', async () => {
    const web = kube.upsert(rollout('web', 'web:1'));
    kube.upsert(rollout('api', 'api:1'));
    const w = await open();
    expect(w.snapshot().rollout?.metadata.name).toBe('web');
    expect(w.snapshot().analysisRuns).toEqual([]);
    kube.upsert(run('web-1-pre', 'web', web.metadata.uid!));
    kube.upsert(run('api-1-pre', 'api', 'other'));
    kube.patchStatus('rollouts', NS, 'web', { phase: 'Paused' });
    await until(
      w,
      () => w.snapshot().rollout?.status?.phase === 'Paused' && w.snapshot().analysisRuns.length === 1,
      'events',
    );
    expect(w.snapshot().analysisRuns.map((r) => r.metadata.name)).toEqual(['web-1-pre']);
    kube.remove('analysisruns', NS, 'web-1-pre');
    await until(w, () => w.snapshot().analysisRuns.length === 0, 'the delete');
    // The Rollout watch is narrowed on the server by name.
    expect(
      kube.requests.some(
        (r) => r.path.endsWith('/rollouts') && r.query.includes('fieldSelector=metadata.name%3Dweb'),
      ),
    ).toBe(true);
  });

  it('re-lists and re-watches when the API server drops the streams', async () => {
    kube.upsert(rollout('web', 'web:1'));
    const w = await open();
    const lists = () =>
      kube.requests.filter((r) => r.path.endsWith('/rollouts') && !r.query.includes('watch=true')).length;
    expect(lists()).toBe(1);
    await until(w, () => kube.openWatchCount() === 2, 'both watches');
    kube.dropWatches();
    // A change while no watch is open is still seen, through the new list.
    kube.patchStatus('rollouts', NS, 'web', { phase: 'Degraded', message: 'while disconnected' });
    await until(
      w,
      () => w.snapshot().rollout?.status?.message === 'while disconnected',
      'the change made while dropped',
    );
    expect(lists()).toBeGreaterThanOrEqual(2);
    await until(w, () => kube.openWatchCount() === 2, 'the watches to come back');
  });

  it('recovers from 410 Gone (history compacted) by listing again', async () => {
    kube.upsert(rollout('web', 'web:1'));
    const w = await open();
    await until(w, () => kube.openWatchCount() === 2, 'both watches');
    kube.compactHistory();
    kube.dropWatches();
    kube.patchStatus('rollouts', NS, 'web', { phase: 'Healthy' });
    await until(w, () => w.snapshot().rollout?.status?.phase === 'Healthy', 'the change after 410');
  });

  it('fails fast with a typed error when the first list is refused', async () => {
    await expectRefusedFirstListFailsTyped(kube, (kc) =>
      createKubeRolloutSource(kc).open({ namespace: NS, name: 'web' }),
    );
  });
});
