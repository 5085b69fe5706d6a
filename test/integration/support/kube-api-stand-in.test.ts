import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BatchV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, Watch } from '@kubernetes/client-node';
import {
  startKubeApiStandIn,
  type KubeObject,
  type KubeStandIn,
} from '../../../sandbox/kube-api-stand-in.js';

// The stand-in is shared by the executor and deploy tests, so its wire format is checked
// here through the real client once, instead of being trusted by every user.
describe('Kubernetes API stand-in through @kubernetes/client-node', () => {
  let kube: KubeStandIn;
  let kc: KubeConfig;

  beforeEach(async () => {
    kube = await startKubeApiStandIn();
    kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfigPath);
  });
  afterEach(async () => kube.close());

  it('creates, reads, lists by label and deletes Jobs with their Pods', async () => {
    kube.onCreate('jobs', (job, api) => {
      api.upsert({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `${job.metadata.name}-abcde`,
          namespace: job.metadata.namespace,
          labels: { 'job-name': job.metadata.name },
          ownerReferences: [
            { apiVersion: 'batch/v1', kind: 'Job', name: job.metadata.name, uid: job.metadata.uid! },
          ],
        },
      });
    });
    const batch = kc.makeApiClient(BatchV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    const created = await batch.createNamespacedJob({
      namespace: 'gates',
      body: {
        metadata: { name: 'run-1', labels: { run: 'r1' } },
        spec: { template: { spec: { containers: [] } } },
      },
    });
    expect(created.metadata?.uid).toBeTruthy();
    await expect(
      batch.createNamespacedJob({
        namespace: 'gates',
        body: { metadata: { name: 'run-1' }, spec: { template: {} } },
      }),
    ).rejects.toMatchObject({ code: 409 });

    const pods = await core.listNamespacedPod({ namespace: 'gates', labelSelector: 'job-name=run-1' });
    expect(pods.items.map((p) => p.metadata?.name)).toEqual(['run-1-abcde']);
    kube.setPodLog('gates', 'run-1-abcde', 'line1\nline2\nline3\n');
    const log = await core.readNamespacedPodLog({ namespace: 'gates', name: 'run-1-abcde', tailLines: 2 });
    expect(log).toContain('line3');
    expect(log).not.toContain('line1');

    await batch.deleteNamespacedJob({ namespace: 'gates', name: 'run-1', propagationPolicy: 'Background' });
    expect(kube.objects('jobs')).toHaveLength(0);
    expect(kube.objects('pods')).toHaveLength(0);
    await expect(batch.readNamespacedJob({ namespace: 'gates', name: 'run-1' })).rejects.toMatchObject({
      code: 404,
    });
  });

  it('streams watch events from a resourceVersion and resumes after a dropped watch', async () => {
    const rollout: KubeObject = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'web', namespace: 'app' },
      spec: { replicas: 1 },
    };
    kube.upsert(rollout);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const listed = (await custom.listNamespacedCustomObject({
      group: 'argoproj.io',
      version: 'v1alpha1',
      namespace: 'app',
      plural: 'rollouts',
    })) as { metadata: { resourceVersion: string }; items: KubeObject[] };
    expect(listed.items).toHaveLength(1);

    const seen: string[] = [];
    let ended = false;
    await new Watch(kc).watch(
      '/apis/argoproj.io/v1alpha1/namespaces/app/rollouts',
      { resourceVersion: listed.metadata.resourceVersion },
      (type, obj: KubeObject) =>
        seen.push(`${type}:${(obj.status as { phase?: string } | undefined)?.phase}`),
      () => {
        ended = true;
      },
    );
    await waitFor(() => kube.openWatchCount() === 1);
    kube.patchStatus('rollouts', 'app', 'web', { phase: 'Paused' });
    await waitFor(() => seen.length === 1);
    expect(seen).toEqual(['MODIFIED:Paused']);

    kube.dropWatches();
    await waitFor(() => ended);
    kube.compactHistory();
    let gone: unknown;
    await new Watch(kc).watch(
      '/apis/argoproj.io/v1alpha1/namespaces/app/rollouts',
      { resourceVersion: '1' },
      (type, obj: { code?: number }) => {
        if (type === 'ERROR') gone = obj.code;
      },
      () => {},
    );
    await waitFor(() => gone !== undefined);
    expect(gone).toBe(410);
  });

  it('applies merge and JSON patches and keeps status behind the status subresource', async () => {
    kube.upsert({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'web', namespace: 'app' },
      spec: { paused: true },
    });
    kube.patchStatus('rollouts', 'app', 'web', { phase: 'Paused' });
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.patchNamespacedCustomObject({
      group: 'argoproj.io',
      version: 'v1alpha1',
      namespace: 'app',
      plural: 'rollouts',
      name: 'web',
      body: [{ op: 'replace', path: '/spec/paused', value: false }],
    });
    const after = kube.get('rollouts', 'app', 'web')!;
    expect(after.spec).toEqual({ paused: false });
    expect(after.status).toEqual({ phase: 'Paused' });
    expect(after.metadata.generation).toBe(2);
  });

  it('refuses requests without the bearer token', async () => {
    const res = await fetch(`${kube.url}/api/v1/namespaces/x/pods`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ kind: 'Status', code: 401 });
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
