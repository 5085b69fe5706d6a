import { setTimeout as sleep } from 'node:timers/promises';
import { BatchV1Api, Watch, type KubeConfig, type V1Job } from '@kubernetes/client-node';
import { kubeCall, withSignal } from './kube-api-call.js';

export type JobWait =
  { kind: 'finished'; job: V1Job } | { kind: 'gone' } | { kind: 'aborted' } | { kind: 'deadline' };

export function jobFinished(job: V1Job): boolean {
  return (job.status?.conditions ?? []).some(
    (c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True',
  );
}

export interface WaitForJobOptions {
  namespace: string;
  name: string;
  /** The Job instance we created or attached to; a same-named successor is not ours. */
  uid: string | undefined;
  signal: AbortSignal | undefined;
  /** Epoch ms after which we stop waiting (a backstop over activeDeadlineSeconds). */
  deadline: number;
  apiTimeoutMs: number;
  /** Server-side watch timeout; the loop re-lists and re-watches after it. @defaultValue 300 */
  watchSeconds?: number;
  /** Called each time a watch stream opens (tests, metrics). */
  onWatch?: () => void;
}

/**
 * Waits for a Job to finish: list (to learn its state and a resourceVersion), then watch from
 * that version. A watch that ends — dropped by the server or a load balancer, timed out, or
 * expired (410 Gone) — leads to a fresh list and a new watch, so no transition is missed.
 */
export async function waitForJob(kubeConfig: KubeConfig, options: WaitForJobOptions): Promise<JobWait> {
  const batch = kubeConfig.makeApiClient(BatchV1Api);
  const watch = new Watch(kubeConfig);
  const fieldSelector = `metadata.name=${options.name}`;
  const path = `/apis/batch/v1/namespaces/${options.namespace}/jobs`;
  const ours = (job: V1Job | undefined): job is V1Job =>
    job !== undefined && (options.uid === undefined || job.metadata?.uid === options.uid);
  let failures = 0;

  for (;;) {
    if (options.signal?.aborted) return { kind: 'aborted' };
    if (Date.now() >= options.deadline) return { kind: 'deadline' };
    let list;
    try {
      list = await kubeCall(
        'list Job',
        (signal) =>
          batch.listNamespacedJob({ namespace: options.namespace, fieldSelector }, withSignal(signal)),
        { timeoutMs: options.apiTimeoutMs, signal: options.signal },
      );
    } catch (err) {
      // The caller's abort cancels the list too; it still ends the wait as an abort.
      if (options.signal?.aborted) return { kind: 'aborted' };
      throw err;
    }
    const job = list.items.find((j) => j.metadata?.name === options.name);
    if (!ours(job)) return { kind: 'gone' };
    if (jobFinished(job)) return { kind: 'finished', job };

    const outcome = await new Promise<JobWait | 'resync'>((resolve) => {
      let settled = false;
      let controller: AbortController | undefined;
      const settle = (value: JobWait | 'resync') => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        controller?.abort();
        resolve(value);
      };
      const onAbort = () => settle({ kind: 'aborted' });
      const timer = setTimeout(
        () => settle({ kind: 'deadline' }),
        Math.max(0, options.deadline - Date.now()),
      );
      options.signal?.addEventListener('abort', onAbort, { once: true });
      watch
        .watch(
          path,
          {
            fieldSelector,
            resourceVersion: list.metadata?.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: options.watchSeconds ?? 300,
          },
          (type: string, obj: V1Job & { code?: number }) => {
            if (type === 'ERROR') {
              // 410 Gone: our resourceVersion was compacted away; anything else: start over too.
              settle('resync');
            } else if (type === 'DELETED' && obj.metadata?.name === options.name) {
              settle({ kind: 'gone' });
            } else if ((type === 'ADDED' || type === 'MODIFIED') && obj.metadata?.name === options.name) {
              if (!ours(obj)) settle({ kind: 'gone' });
              else if (jobFinished(obj)) settle({ kind: 'finished', job: obj });
            }
          },
          () => settle('resync'),
        )
        .then((c) => {
          controller = c;
          if (settled) c.abort();
          else options.onWatch?.();
        })
        .catch(() => settle('resync'));
    });
    if (outcome !== 'resync') return outcome;
    failures += 1;
    // Back off a little when watches keep ending at once (an API server in trouble); an abort
    // ends the back-off at once and is reported at the top of the loop.
    await sleep(Math.min(100 * failures, 2_000), undefined, { signal: options.signal }).catch(
      () => undefined,
    );
  }
}
