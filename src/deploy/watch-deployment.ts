/**
 * Watches one plain Deployment (apps/v1) through the Kubernetes API (list + watch, the
 * informer pattern) and keeps the latest snapshot: the rolling strategy's counterpart of
 * watch-rollout.ts, with no Argo Rollouts dependency.
 *
 * Why a watch and not Argo CD's resource tree: the controller's conditions (which ReplicaSet
 * timed out, why pods cannot be created) and replica counts are only in the object, and a watch
 * delivers each change as it happens. Watches end (API servers close them every few minutes,
 * an old resourceVersion answers 410 Gone): each time this lists again and watches from the
 * list's resourceVersion, with bounded backoff between failures.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AppsV1Api, Watch, type KubeConfig } from '@kubernetes/client-node';
import { KubeWatchFailed } from '../errors.js';
import type { Logger } from '../logger.js';
import { backoffDelayMs } from '../retry/retry.js';
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

export interface DeploymentWatch {
  snapshot(): DeploymentSnapshot;
  /** The first snapshot newer than `version`, or the current one after `timeoutMs` or on abort. */
  next(version: number, timeoutMs: number, signal?: AbortSignal): Promise<DeploymentSnapshot>;
  close(): void;
}

/** The port the rolling strategy reads Deployment state through. */
export interface DeploymentSource {
  /** Resolves once the Deployment has been listed (it may not exist yet). */
  open(target: DeploymentRef, signal?: AbortSignal): Promise<DeploymentWatch>;
}

export interface KubeDeploymentSourceOptions {
  /** First wait after a failed list or watch; doubles up to `maxBackoffMs`. @defaultValue 200 */
  backoffMs?: number;
  /** @defaultValue 5000 */
  maxBackoffMs?: number;
  logger?: Logger;
}

export function createKubeDeploymentSource(
  kubeConfig: KubeConfig,
  options: KubeDeploymentSourceOptions = {},
): DeploymentSource {
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const watcher = new Watch(kubeConfig);
  const backoff = { minDelayMs: options.backoffMs ?? 200, maxDelayMs: options.maxBackoffMs ?? 5_000 };
  const log = options.logger;

  return {
    async open(target, signal) {
      let version = 0;
      let deployment: Deployment | undefined;
      const waiters = new Set<() => void>();
      // Aborts the open stream and the backoff sleeps: one switch for close().
      const life = new AbortController();
      const fieldSelector = `metadata.name=${target.name}`;

      const set = (next: Deployment | undefined) => {
        deployment = next;
        version += 1;
        for (const w of [...waiters]) w();
      };

      async function list(): Promise<string | undefined> {
        const body = await apps.listNamespacedDeployment({ namespace: target.namespace, fieldSelector });
        // The typed client hands back model objects with Date fields; the schema (like the watch
        // stream) reads the wire form.
        const found = (body.items ?? [])
          .map((i) => DeploymentSchema.safeParse(JSON.parse(JSON.stringify(i))))
          .find((p) => p.success && p.data.metadata.name === target.name);
        set(found?.success ? found.data : undefined);
        return body.metadata?.resourceVersion;
      }

      /** Resolves when the stream ends, for whatever reason. */
      function watchFrom(resourceVersion: string | undefined): Promise<void> {
        return new Promise<void>((resolve) => {
          const path = `/apis/apps/v1/namespaces/${encodeURIComponent(target.namespace)}/deployments`;
          const query: Record<string, string | boolean> = { allowWatchBookmarks: true, fieldSelector };
          if (resourceVersion) query.resourceVersion = resourceVersion;
          let controller: AbortController | undefined;
          const stop = () => controller?.abort();
          const finish = () => {
            life.signal.removeEventListener('abort', stop);
            resolve();
          };
          life.signal.addEventListener('abort', stop, { once: true });
          watcher
            .watch(
              path,
              query,
              (type, object: unknown) => {
                if (type === 'BOOKMARK') return;
                if (type === 'ERROR') {
                  // 410 Gone and friends: this stream is useless; end it and list again.
                  log?.debug({ status: object }, 'deployment watch error event; relisting');
                  controller?.abort();
                  finish();
                  return;
                }
                const parsed = DeploymentSchema.safeParse(object);
                if (!parsed.success || parsed.data.metadata.name !== target.name) return;
                set(type === 'DELETED' ? undefined : parsed.data);
              },
              (err: unknown) => {
                if (err && !life.signal.aborted)
                  log?.debug({ err: String(err) }, 'deployment watch ended with an error');
                finish();
              },
            )
            .then((c) => {
              controller = c;
              if (life.signal.aborted) c.abort();
            })
            .catch(() => finish());
        });
      }

      async function loop(first: Promise<string | undefined>) {
        let failures = 0;
        let pending: Promise<string | undefined> | undefined = first;
        while (!life.signal.aborted) {
          try {
            const rv = await (pending ?? list());
            pending = undefined;
            failures = 0;
            if (life.signal.aborted) return;
            await watchFrom(rv);
          } catch (err) {
            pending = undefined;
            failures += 1;
            log?.warn({ err: String(err), failures }, 'listing for the deployment watch failed; retrying');
            await sleep(backoffDelayMs(failures, { ...backoff, jitter: 'equal' }), undefined, {
              signal: life.signal,
            }).catch(() => undefined);
          }
        }
      }

      const first = list();
      try {
        await first;
      } catch (err) {
        life.abort();
        throw KubeWatchFailed(`Deployment ${target.namespace}/${target.name}`, errorText(err), {
          cause: err,
        });
      }
      void loop(first);

      const handle: DeploymentWatch = {
        snapshot: () => ({ version, deployment }),
        next(after, timeoutMs, waitSignal) {
          if (version > after || life.signal.aborted) return Promise.resolve(handle.snapshot());
          return new Promise<DeploymentSnapshot>((resolve) => {
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
          life.abort();
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
