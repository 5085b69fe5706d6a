/** The rolling strategy's Deployment watch (apps/v1 list + watch) against the Kubernetes stand-in. */
import { describe, expect, it } from 'vitest';
import { createKubeDeploymentSource } from '../../../src/deploy/watch-deployment.js';
import type { KubeObject } from '../../../sandbox/kube-api-stand-in.js';
import {
  expectRefusedFirstListFailsTyped,
  untilSnapshot as until,
  useKubeWatch,
} from './kube-watch-fixture.js';

const NS = 'web-staging';
const deployment = (name: string, image: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: NS },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name, image }] } },
  },
});

describe('createKubeDeploymentSource', () => {
  const fixture = useKubeWatch((kc, options) =>
    createKubeDeploymentSource(kc, options).open({ namespace: NS, name: 'web' }),
  );
  const open = () => fixture.open();

  it('lists (timestamps in wire form), then follows only its own Deployment, narrowed by name', async () => {
    const { kube } = fixture;
    kube.upsert(deployment('web', 'web:1'));
    kube.upsert(deployment('api', 'api:1'));
    const w = await open();
    expect(w.snapshot().deployment?.metadata).toMatchObject({
      name: 'web',
      creationTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    kube.patchStatus('deployments', NS, 'web', { observedGeneration: 1, updatedReplicas: 1 });
    kube.patchStatus('deployments', NS, 'api', { observedGeneration: 1, updatedReplicas: 3 });
    await until(w, () => w.snapshot().deployment?.status?.updatedReplicas === 1, 'the status change');
    kube.remove('deployments', NS, 'web');
    await until(w, () => w.snapshot().deployment === undefined, 'the delete');
    expect(
      kube.requests.some(
        (r) =>
          r.path === `/apis/apps/v1/namespaces/${NS}/deployments` &&
          r.query.includes('fieldSelector=metadata.name%3Dweb'),
      ),
    ).toBe(true);
  });

  it('re-lists when the stream drops and after 410 Gone; close() stops it', async () => {
    const { kube } = fixture;
    kube.upsert(deployment('web', 'web:1'));
    const w = await open();
    await until(w, () => kube.openWatchCount() === 1, 'the watch');
    kube.dropWatches();
    kube.patchStatus('deployments', NS, 'web', { availableReplicas: 2 });
    await until(
      w,
      () => w.snapshot().deployment?.status?.availableReplicas === 2,
      'the change while dropped',
    );
    await until(w, () => kube.openWatchCount() === 1, 'the watch to come back');
    kube.compactHistory();
    kube.dropWatches();
    kube.patchStatus('deployments', NS, 'web', { availableReplicas: 3 });
    await until(w, () => w.snapshot().deployment?.status?.availableReplicas === 3, 'the change after 410');
    w.close();
    await expect.poll(() => kube.openWatchCount()).toBe(0);
  });

  it('fails fast with a typed error when the first list is refused', async () => {
    const { kube } = fixture;
    await expectRefusedFirstListFailsTyped(kube, (kc) =>
      createKubeDeploymentSource(kc).open({ namespace: NS, name: 'web' }),
    );
  });
});
