/**
 * What the controller simulations (rollout-controller-sim.ts, deployment-controller-sim.ts)
 * share: Argo CD's "apply" of the synced env-repo manifest into the cluster stand-in, and the
 * controller's delayed steps, which must not throw once a test has closed the stand-ins.
 */
import { parse } from 'yaml';
import type { ArgoCdStandIn } from './argocd-stand-in.js';
import type { KubeObject, KubeStandIn } from './kube-api-stand-in.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** Runs `fn` in `ms`; an error is dropped: the stand-ins may be closed when a test ends mid-step. */
export function laterUnlessClosed(fn: () => void, ms: number): void {
  setTimeout(() => {
    try {
      fn();
    } catch {
      // The stand-ins are closed.
    }
  }, ms).unref();
}

/** Puts `manifest` in the cluster in `namespace`, with `status` when given; returns it as stored. */
export function applyInNamespace(
  kube: KubeStandIn,
  manifest: Json,
  namespace: string,
  status?: unknown,
): KubeObject {
  return kube.upsert({
    ...manifest,
    metadata: { ...manifest.metadata, namespace },
    ...(status ? { status } : {}),
  } as KubeObject);
}

/** An app environment as Argo CD sees it: its Application, namespace and env-repo folder. */
export interface SyncedEnvironment {
  application: string;
  namespace: string;
  path: string;
}

/**
 * Registers each environment's Application with Argo CD; on each successful sync, reads the
 * environment's manifest (`file(env)`, under its folder) from the synced revision and applies it,
 * keeping the status the controller wrote to the one before (`current(env)`). Then `applied`
 * plays the controller.
 */
export function applySyncedManifests<E extends SyncedEnvironment>(options: {
  kube: KubeStandIn;
  argo: ArgoCdStandIn;
  environments: readonly E[];
  readFile(revision: string, file: string): Promise<string | undefined>;
  /** The manifest's file name in the environment's folder (`rollout-web.yaml`). */
  file(env: E): string;
  /** The object in the cluster now, if any. */
  current(env: E): KubeObject | undefined;
  applied(env: E, manifest: Json, previous: KubeObject | undefined, stored: KubeObject): void;
}): void {
  const { kube, argo } = options;
  const byApp = new Map(options.environments.map((e) => [e.application, e]));
  for (const env of options.environments) argo.addApplication(env.application, { namespace: env.namespace });
  argo.onSynced(async (application, revision, phase) => {
    const env = byApp.get(application);
    if (!env || phase !== 'Succeeded') return;
    const text = await options.readFile(revision, `${env.path}/${options.file(env)}`);
    if (text === undefined) return;
    const manifest = parse(text) as Json;
    const previous = options.current(env);
    const stored = applyInNamespace(kube, manifest, env.namespace, previous?.status);
    options.applied(env, manifest, previous, stored);
  });
}
