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
 * Watches end: API servers close them every few minutes, proxies drop idle streams, and an
 * old resourceVersion answers 410 Gone. Each time, this lists again and watches from the
 * list's resourceVersion, the informer pattern, with bounded backoff between failures.
 */
import { CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeWatchFailed } from '../errors.js';
import { backoffDelayMs } from '../retry/retry.js';
import type { Logger } from '../logger.js';
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

export interface RolloutWatch {
  snapshot(): RolloutSnapshot;
  /** The first snapshot newer than `version`, or the current one after `timeoutMs` or on abort. */
  next(version: number, timeoutMs: number, signal?: AbortSignal): Promise<RolloutSnapshot>;
  close(): void;
}

/** The port `runDeploy` reads Rollout state through. */
export interface RolloutSource {
  /** Resolves once the Rollout and its AnalysisRuns have been listed. */
  open(target: RolloutRef, signal?: AbortSignal): Promise<RolloutWatch>;
}

export interface KubeRolloutSourceOptions {
  /** First wait after a failed list or watch (equal jitter); doubles up to `maxBackoffMs`. @defaultValue 200 */
  backoffMs?: number;
  /** @defaultValue 5000 */
  maxBackoffMs?: number;
  logger?: Logger;
}

const GROUP = 'argoproj.io';
const VERSION = 'v1alpha1';

type Plural = 'rollouts' | 'analysisruns';

interface KubeListObject {
  metadata?: { resourceVersion?: string };
  items?: unknown[];
}

export function createKubeRolloutSource(
  kubeConfig: KubeConfig,
  options: KubeRolloutSourceOptions = {},
): RolloutSource {
  const customApi = kubeConfig.makeApiClient(CustomObjectsApi);
  const watcher = new Watch(kubeConfig);
  const backoff = options.backoffMs ?? 200;
  const maxBackoff = options.maxBackoffMs ?? 5_000;
  const log = options.logger;

  return {
    async open(target, signal) {
      let version = 0;
      let rollout: Rollout | undefined;
      const runs = new Map<string, AnalysisRun>();
      const waiters = new Set<() => void>();
      const controllers = new Set<AbortController>();
      let closed = false;

      const owned = (run: AnalysisRun) =>
        (run.metadata.ownerReferences ?? []).some((r) => r.kind === 'Rollout' && r.name === target.name);

      function bump() {
        version += 1;
        for (const w of [...waiters]) w();
      }

      function apply(plural: Plural, type: string, raw: unknown) {
        if (plural === 'rollouts') {
          const parsed = RolloutSchema.safeParse(raw);
          if (!parsed.success || parsed.data.metadata.name !== target.name) return;
          rollout = type === 'DELETED' ? undefined : parsed.data;
        } else {
          const parsed = AnalysisRunSchema.safeParse(raw);
          if (!parsed.success || !owned(parsed.data)) return;
          if (type === 'DELETED') runs.delete(parsed.data.metadata.name);
          else runs.set(parsed.data.metadata.name, parsed.data);
        }
        bump();
      }

      async function list(plural: Plural): Promise<string | undefined> {
        const body = (await customApi.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: target.namespace,
          plural,
          ...(plural === 'rollouts' ? { fieldSelector: `metadata.name=${target.name}` } : {}),
        })) as KubeListObject;
        if (plural === 'rollouts') {
          const found = (body.items ?? [])
            .map((i) => RolloutSchema.safeParse(i))
            .find((p) => p.success && p.data.metadata.name === target.name);
          rollout = found?.success ? found.data : undefined;
        } else {
          runs.clear();
          for (const item of body.items ?? []) {
            const parsed = AnalysisRunSchema.safeParse(item);
            if (parsed.success && owned(parsed.data)) runs.set(parsed.data.metadata.name, parsed.data);
          }
        }
        bump();
        return body.metadata?.resourceVersion;
      }

      /** Resolves when the stream ends, for whatever reason. */
      function watchFrom(plural: Plural, resourceVersion: string | undefined): Promise<void> {
        return new Promise<void>((resolve) => {
          let controller: AbortController | undefined;
          const finish = () => {
            if (controller) controllers.delete(controller);
            resolve();
          };
          const path = `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(target.namespace)}/${plural}`;
          const query: Record<string, string | boolean> = { allowWatchBookmarks: true };
          if (resourceVersion) query.resourceVersion = resourceVersion;
          if (plural === 'rollouts') query.fieldSelector = `metadata.name=${target.name}`;
          watcher
            .watch(
              path,
              query,
              (type, object: unknown) => {
                if (type === 'BOOKMARK') return;
                if (type === 'ERROR') {
                  // 410 Gone and friends: this stream is useless; end it and list again.
                  log?.debug({ plural, status: object }, 'watch error event; relisting');
                  controller?.abort();
                  finish();
                  return;
                }
                apply(plural, type, object);
              },
              (err: unknown) => {
                if (err && !closed) log?.debug({ plural, err: String(err) }, 'watch ended with an error');
                finish();
              },
            )
            .then((c) => {
              controller = c;
              controllers.add(c);
              if (closed) c.abort();
            })
            .catch(() => finish());
        });
      }

      // Ends the back-off between relists when the watch closes.
      const life = new AbortController();

      async function loop(plural: Plural, first: Promise<string | undefined>) {
        let failures = 0;
        let pending: Promise<string | undefined> | undefined = first;
        while (!closed) {
          try {
            const rv = await (pending ?? list(plural));
            pending = undefined;
            failures = 0;
            if (closed) return;
            await watchFrom(plural, rv);
          } catch (err) {
            pending = undefined;
            failures += 1;
            log?.warn(
              { plural, err: String(err), failures },
              'listing for the rollout watch failed; retrying',
            );
            await sleep(
              backoffDelayMs(failures, { minDelayMs: backoff, maxDelayMs: maxBackoff, jitter: 'equal' }),
              undefined,
              { signal: life.signal },
            ).catch(() => undefined);
          }
        }
      }

      const firstRollouts = list('rollouts');
      const firstRuns = list('analysisruns');
      try {
        await Promise.all([firstRollouts, firstRuns]);
      } catch (err) {
        closed = true;
        throw KubeWatchFailed(`Rollout ${target.namespace}/${target.name}`, errorText(err), { cause: err });
      }
      void loop('rollouts', firstRollouts);
      void loop('analysisruns', firstRuns);

      const handle: RolloutWatch = {
        snapshot: () => ({ version, rollout, analysisRuns: [...runs.values()] }),
        next(after, timeoutMs, waitSignal) {
          if (version > after || closed) return Promise.resolve(handle.snapshot());
          return new Promise<RolloutSnapshot>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              waiters.delete(done);
              waitSignal?.removeEventListener('abort', done);
              resolve(handle.snapshot());
            };
            const timer = setTimeout(done, timeoutMs);
            waiters.add(done);
            waitSignal?.addEventListener('abort', done, { once: true });
          });
        },
        close() {
          closed = true;
          life.abort();
          for (const c of controllers) c.abort();
          controllers.clear();
          for (const w of [...waiters]) w();
        },
      };
      signal?.addEventListener('abort', () => handle.close(), { once: true });
      return handle;
    },
  };
}

function errorText(err: unknown): string {
  const code = (err as { code?: number }).code;
  const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return code ? `HTTP ${code}: ${message}` : (message ?? 'unknown error');
}
