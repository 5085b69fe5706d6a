/**
 * The informer pattern, once: keep one or more Kubernetes collections listed and watched until
 * closed, and let readers wait for the next change. `watch-rollout.ts` (a Rollout and its
 * AnalysisRuns) and `watch-deployment.ts` (a plain Deployment) each describe their streams and
 * keep their own state; the relist loop, the backoff, the waiters and the shutdown live here.
 *
 * Watches end: API servers close them every few minutes, proxies drop idle streams, and an old
 * resourceVersion answers 410 Gone. Each time, the stream lists again and watches from the
 * list's resourceVersion, with bounded backoff (equal jitter) between failed lists.
 */
import type { Watch } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeWatchFailed } from '../errors.js';
import type { Logger } from '../logger.js';
import { backoffDelayMs } from '../retry/retry.js';

/** One collection to keep watched. Its functions update the caller's state. */
export interface ListWatchStream {
  /** Names the stream in logs (`rollouts`, `deployment`). */
  name: string;
  /** The watch path, `/apis/<group>/<version>/namespaces/<ns>/<plural>`. */
  path: string;
  /** Added to the watch query (a `fieldSelector`, for instance). */
  query?: Record<string, string>;
  /** Lists the collection, replaces the caller's state with it, and returns its resourceVersion. */
  list(): Promise<string | undefined>;
  /** Applies one watch event (ADDED, MODIFIED, DELETED); returns whether the state changed. */
  apply(type: string, object: unknown): boolean;
}

export interface ListWatchOptions {
  /** First wait after a failed list (equal jitter); doubles up to `maxBackoffMs`. @defaultValue 200 */
  backoffMs?: number;
  /** @defaultValue 5000 */
  maxBackoffMs?: number;
  logger?: Logger | undefined;
}

export interface ListWatch {
  /** Grows with every list and every applied change; compare to know whether anything happened. */
  version(): number;
  /** Resolves once the version is past `after`, after `timeoutMs`, on `signal`'s abort or at close. */
  next(after: number, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** Ends every stream and the backoff, and releases every waiter. Idempotent. */
  close(): void;
}

/**
 * Lists every stream once, then keeps them watched. Rejects with the first failed list's error
 * (having stopped everything): the caller says which object could not be read.
 */
export async function openListWatch(
  watcher: Watch,
  streams: readonly ListWatchStream[],
  options: ListWatchOptions = {},
): Promise<ListWatch> {
  let version = 0;
  const waiters = new Set<() => void>();
  // Aborts the open streams and the backoff sleeps: one switch for close().
  const life = new AbortController();
  const log = options.logger;
  const backoff = { minDelayMs: options.backoffMs ?? 200, maxDelayMs: options.maxBackoffMs ?? 5_000 };

  const bump = () => {
    version += 1;
    for (const w of [...waiters]) w();
  };
  const list = async (stream: ListWatchStream) => {
    const resourceVersion = await stream.list();
    bump();
    return resourceVersion;
  };

  /** Resolves when the stream ends, for whatever reason. */
  function watchFrom(stream: ListWatchStream, resourceVersion: string | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const query: Record<string, string | boolean> = { allowWatchBookmarks: true, ...stream.query };
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
          stream.path,
          query,
          (type, object: unknown) => {
            if (type === 'BOOKMARK') return;
            if (type === 'ERROR') {
              // 410 Gone and friends: this stream is useless; end it and list again.
              log?.debug({ stream: stream.name, status: object }, 'watch error event; relisting');
              controller?.abort();
              finish();
              return;
            }
            if (stream.apply(type, object)) bump();
          },
          (err: unknown) => {
            if (err && !life.signal.aborted) {
              log?.debug({ stream: stream.name, err: String(err) }, 'watch ended with an error');
            }
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

  async function loop(stream: ListWatchStream, first: Promise<string | undefined>) {
    let failures = 0;
    let pending: Promise<string | undefined> | undefined = first;
    while (!life.signal.aborted) {
      try {
        const rv = await (pending ?? list(stream));
        pending = undefined;
        failures = 0;
        if (life.signal.aborted) return;
        await watchFrom(stream, rv);
      } catch (err) {
        pending = undefined;
        failures += 1;
        log?.warn(
          { stream: stream.name, err: String(err), failures },
          'listing for a watch failed; retrying',
        );
        await sleep(backoffDelayMs(failures, { ...backoff, jitter: 'equal' }), undefined, {
          signal: life.signal,
        }).catch(() => undefined);
      }
    }
  }

  const firsts = streams.map((stream) => list(stream));
  try {
    await Promise.all(firsts);
  } catch (err) {
    life.abort();
    // The other first lists may still fail; nobody waits for them any more.
    for (const first of firsts) first.catch(() => undefined);
    throw err;
  }
  streams.forEach((stream, i) => void loop(stream, firsts[i]!));

  return {
    version: () => version,
    next(after, timeoutMs, signal) {
      if (version > after || life.signal.aborted) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          signal?.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        waiters.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    },
    close() {
      life.abort();
      for (const w of [...waiters]) w();
    },
  };
}

/** What a watch source hands its reader: the latest snapshot, and a wait for the next one. */
export interface SnapshotWatch<S> {
  snapshot(): S;
  /** The first snapshot newer than `version`, or the current one after `timeoutMs` or on abort. */
  next(version: number, timeoutMs: number, signal?: AbortSignal): Promise<S>;
  close(): void;
}

/** `watch` as a reader's handle; closed when `signal` (the opener's) aborts. */
export function snapshotWatch<S>(
  watch: ListWatch,
  snapshot: () => S,
  signal?: AbortSignal,
): SnapshotWatch<S> {
  const handle: SnapshotWatch<S> = {
    snapshot,
    next: (after, timeoutMs, waitSignal) => watch.next(after, timeoutMs, waitSignal).then(snapshot),
    close: () => watch.close(),
  };
  signal?.addEventListener('abort', () => handle.close(), { once: true });
  return handle;
}

/**
 * `openListWatch` as a reader's handle, each snapshot made by `snapshot` from the watch's
 * version. A failed first list rejects with `KubeWatchFailed` naming `what` (`Rollout ns/name`).
 */
export async function openSnapshotWatch<S>(
  watcher: Watch,
  streams: readonly ListWatchStream[],
  options: ListWatchOptions,
  what: string,
  snapshot: (version: number) => S,
  signal?: AbortSignal,
): Promise<SnapshotWatch<S>> {
  let watch: ListWatch;
  try {
    watch = await openListWatch(watcher, streams, options);
  } catch (err) {
    throw KubeWatchFailed(what, kubeErrorText(err), { cause: err });
  }
  return snapshotWatch(watch, () => snapshot(watch.version()), signal);
}

/** A failed Kubernetes call in one line: `HTTP 403: forbidden`. */
export function kubeErrorText(err: unknown): string {
  const code = (err as { code?: number }).code;
  const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return code ? `HTTP ${code}: ${message}` : (message ?? 'unknown error');
}
