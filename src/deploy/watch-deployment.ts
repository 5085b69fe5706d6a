/**
 * Watches one plain Deployment (apps/v1) through the Kubernetes API (list + watch, the
 * informer pattern) and keeps the latest snapshot: the rolling strategy's counterpart of
 * watch-rollout.ts, with no Argo Rollouts dependency.
 *
 * Why a watch and not Argo CD's resource tree: the controller's conditions (which ReplicaSet
 * timed out, why pods cannot be created) and replica counts are only in the object, and a watch
 * delivers each change as it happens. The relist loop is `kube-list-watch.ts`, shared with
 * watch-rollout.ts.
 */
import { AppsV1Api, Watch, type KubeConfig } from '@kubernetes/client-node';
import { openSnapshotWatch, type ListWatchOptions, type SnapshotWatch } from './kube-list-watch.js';
import { namedObjectStream } from './kube-named-object-stream.js';
import { DeploymentSchema, type Deployment } from './schema.js';

export interface DeploymentRef {
  namespace: string;
  name: string;
}

export interface DeploymentSnapshot {
  /** Grows with every change applied; compare to know whether anything happened. */
  version: number;
  deployment: Deployment | undefined;
}

export type DeploymentWatch = SnapshotWatch<DeploymentSnapshot>;

/** The port the rolling strategy reads Deployment state through. */
export interface DeploymentSource {
  /** Resolves once the Deployment has been listed (it may not exist yet). */
  open(target: DeploymentRef, signal?: AbortSignal): Promise<DeploymentWatch>;
}

/** Backoff between failed lists and the logger; see `ListWatchOptions`. */
export type KubeDeploymentSourceOptions = ListWatchOptions;

export function createKubeDeploymentSource(
  kubeConfig: KubeConfig,
  options: KubeDeploymentSourceOptions = {},
): DeploymentSource {
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const watcher = new Watch(kubeConfig);

  return {
    async open(target, signal) {
      let deployment: Deployment | undefined;
      const stream = namedObjectStream({
        name: 'deployment',
        path: `/apis/apps/v1/namespaces/${encodeURIComponent(target.namespace)}/deployments`,
        objectName: target.name,
        schema: DeploymentSchema,
        async list(fieldSelector) {
          const body = await apps.listNamespacedDeployment({ namespace: target.namespace, fieldSelector });
          // The typed client hands back model objects with Date fields; the schema (like the watch
          // stream) reads the wire form.
          return {
            metadata: body.metadata,
            items: (body.items ?? []).map((i) => JSON.parse(JSON.stringify(i)) as unknown),
          };
        },
        set(found) {
          deployment = found;
        },
      });
      return openSnapshotWatch(
        watcher,
        [stream],
        options,
        `Deployment ${target.namespace}/${target.name}`,
        (version) => ({ version, deployment }),
        signal,
      );
    },
  };
}
