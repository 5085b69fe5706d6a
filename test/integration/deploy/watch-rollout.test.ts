import { describe, expect, it } from 'vitest';
import { createKubeRolloutSource } from '../../../src/deploy/watch-rollout.js';
import type { KubeObject } from '../../../sandbox/kube-api-stand-in.js';
import {
  expectRefusedFirstListFailsTyped,
  untilSnapshot as until,
  useKubeWatch,
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
  const fixture = useKubeWatch((kc, options) =>
    createKubeRolloutSource(kc, options).open({ namespace: NS, name: 'web' }),
  );
  const open = () => fixture.open();

  it('lists, then follows changes to the Rollout and only the AnalysisRuns it owns', async () => {
    const { kube } = fixture;
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
    const { kube } = fixture;
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
    const { kube } = fixture;
    kube.upsert(rollout('web', 'web:1'));
    const w = await open();
    await until(w, () => kube.openWatchCount() === 2, 'both watches');
    kube.compactHistory();
    kube.dropWatches();
    kube.patchStatus('rollouts', NS, 'web', { phase: 'Healthy' });
    await until(w, () => w.snapshot().rollout?.status?.phase === 'Healthy', 'the change after 410');
  });

  it('fails fast with a typed error when the first list is refused', async () => {
    const { kube } = fixture;
    await expectRefusedFirstListFailsTyped(kube, (kc) =>
      createKubeRolloutSource(kc).open({ namespace: NS, name: 'web' }),
    );
  });
});
