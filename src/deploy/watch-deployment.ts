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
import { KubeWatchFailed } from '../errors.js';
import {
  kubeErrorText,
  openListWatch,
  type ListWatch,
  type ListWatchOptions,
  type ListWatchStream,
  type SnapshotWatch,
  snapshotWatch,
} from './kube-list-watch.js';
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
      const fieldSelector = `metadata.name=${target.name}`;
      const stream: ListWatchStream = {
        name: 'deployment',
        path: `/apis/apps/v1/namespaces/${encodeURIComponent(target.namespace)}/deployments`,
        query: { fieldSelector },
        async list() {
          const body = await apps.listNamespacedDeployment({ namespace: target.namespace, fieldSelector });
          // The typed client hands back model objects with Date fields; the schema (like the watch
          // stream) reads the wire form.
          const found = (body.items ?? [])
            .map((i) => DeploymentSchema.safeParse(JSON.parse(JSON.stringify(i))))
            .find((p) => p.success && p.data.metadata.name === target.name);
          deployment = found?.success ? found.data : undefined;
          return body.metadata?.resourceVersion;
        },
        apply(type, object) {
          const parsed = DeploymentSchema.safeParse(object);
          if (!parsed.success || parsed.data.metadata.name !== target.name) return false;
          deployment = type === 'DELETED' ? undefined : parsed.data;
          return true;
        },
      };

      let watch: ListWatch;
      try {
        watch = await openListWatch(watcher, [stream], options);
      } catch (err) {
        throw KubeWatchFailed(`Deployment ${target.namespace}/${target.name}`, kubeErrorText(err), {
          cause: err,
        });
      }
      return snapshotWatch(watch, () => ({ version: watch.version(), deployment }), signal);
    },
  };
}
