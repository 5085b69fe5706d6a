/**
 * Watches one Rollout and the AnalysisRuns it owns through the Kubernetes API
 * (`@kubernetes/client-node` list + watch), and keeps the latest snapshot.
 *
 * Why the Kubernetes API and not Argo CD's resource tree: the Rollout status and the
 * AnalysisRun metric results (which metric failed, with which value) are only in the
 * objects themselves; the resource tree carries a health summary and would need one more
 * GET per object. A watch delivers each change as it happens (rollback latency is measured
 * from the moment a failing AnalysisRun becomes visible), where polling Argo CD adds its
 * refresh interval. And it keeps watching while Argo CD itself is unreachable.
 *
 * The relist loop (watches end; each time the stream lists again and watches from the list's
 * resourceVersion) is `kube-list-watch.ts`, shared with watch-deployment.ts.
 */
import { CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import {
  openSnapshotWatch,
  type ListWatchOptions,
  type ListWatchStream,
  type SnapshotWatch,
} from './kube-list-watch.js';
import { namedObjectStream, type KubeList } from './kube-named-object-stream.js';
import { AnalysisRunSchema, RolloutSchema, type AnalysisRun, type Rollout } from './schema.js';

export interface RolloutRef {
  namespace: string;
  name: string;
}

export interface RolloutSnapshot {
  /** Grows with every change applied; compare to know whether anything happened. */
  version: number;
  rollout: Rollout | undefined;
  /** AnalysisRuns owned by the Rollout (any revision; the evaluator picks the current ones). */
  analysisRuns: AnalysisRun[];
}

export type RolloutWatch = SnapshotWatch<RolloutSnapshot>;

/** The port `runDeploy` reads Rollout state through. */
export interface RolloutSource {
  /** Resolves once the Rollout and its AnalysisRuns have been listed. */
  open(target: RolloutRef, signal?: AbortSignal): Promise<RolloutWatch>;
}

/** Backoff between failed lists and the logger; see `ListWatchOptions`. */
export type KubeRolloutSourceOptions = ListWatchOptions;

const GROUP = 'argoproj.io';
const VERSION = 'v1alpha1';

export function createKubeRolloutSource(
  kubeConfig: KubeConfig,
  options: KubeRolloutSourceOptions = {},
): RolloutSource {
  const customApi = kubeConfig.makeApiClient(CustomObjectsApi);
  const watcher = new Watch(kubeConfig);

  return {
    async open(target, signal) {
      let rollout: Rollout | undefined;
      const runs = new Map<string, AnalysisRun>();
      const owned = (run: AnalysisRun) =>
        (run.metadata.ownerReferences ?? []).some((r) => r.kind === 'Rollout' && r.name === target.name);
      const pathOf = (plural: string) =>
        `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(target.namespace)}/${plural}`;
      const listOf = async (plural: string, selector?: string) =>
        (await customApi.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: target.namespace,
          plural,
          ...(selector !== undefined ? { fieldSelector: selector } : {}),
        })) as KubeList;

      const rollouts = namedObjectStream({
        name: 'rollouts',
        path: pathOf('rollouts'),
        objectName: target.name,
        schema: RolloutSchema,
        list: (fieldSelector) => listOf('rollouts', fieldSelector),
        set(found) {
          rollout = found;
        },
      });
      const analysisRuns: ListWatchStream = {
        name: 'analysisruns',
        path: pathOf('analysisruns'),
        async list() {
          const body = await listOf('analysisruns');
          runs.clear();
          for (const item of body.items ?? []) {
            const parsed = AnalysisRunSchema.safeParse(item);
            if (parsed.success && owned(parsed.data)) runs.set(parsed.data.metadata.name, parsed.data);
          }
          return body.metadata?.resourceVersion;
        },
        apply(type, object) {
          const parsed = AnalysisRunSchema.safeParse(object);
          if (!parsed.success || !owned(parsed.data)) return false;
          if (type === 'DELETED') runs.delete(parsed.data.metadata.name);
          else runs.set(parsed.data.metadata.name, parsed.data);
          return true;
        },
      };

      return openSnapshotWatch(
        watcher,
        [rollouts, analysisRuns],
        options,
        `Rollout ${target.namespace}/${target.name}`,
        (version) => ({ version, rollout, analysisRuns: [...runs.values()] }),
        signal,
      );
    },
  };
}
