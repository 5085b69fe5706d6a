/**
 * Follows one Argo CD Application through the API server's watch stream
 * (`GET /api/v1/stream/applications?name=…`, the stream the Argo CD UI uses), so a deploy
 * learns that a sync finished the moment Argo CD records it instead of at the next poll.
 *
 * - Each line of the stream is `{"result":{"type":"ADDED|MODIFIED|DELETED","application":{…}}}`
 *   (or `{"error":{…}}`). Argo CD sends the current state as ADDED when a stream opens, so
 *   every (re)connect is also a resync.
 * - Reconnects with the one retry helper's full-jitter back-off. While the stream is down a
 *   slow poll (`fallbackPollMs`) keeps the snapshot fresh; it stops when the stream is back.
 * - A stream can die silently (a proxy that black-holes it). After `resyncMs` without a byte
 *   the watch GETs the Application: when its resourceVersion is newer than the last streamed
 *   one, the stream missed something, so the GET's answer is published and the stream reopened.
 * - 401/403/404 are not retried: `next` rejects with the typed error.
 */
import { StringDecoder } from 'node:string_decoder';
import { ArgoCdUnavailable, ShipgateError } from '../errors.js';
import type { Logger } from '../logger.js';
import { retry } from '../retry/retry.js';
import { ApplicationSchema, type Application } from './schema.js';

export interface ApplicationWatchSettings {
  /** Poll interval while the stream is down. @defaultValue 10000 */
  fallbackPollMs?: number;
  /** Quiet time after which the stream is checked against a GET. @defaultValue 30000 */
  resyncMs?: number;
  /** First reconnect back-off bound; doubles per failed attempt, full jitter. @defaultValue 100 */
  reconnectMinMs?: number;
  /** Cap of one reconnect back-off. @defaultValue 5000 */
  reconnectMaxMs?: number;
  /** Jitter source; tests make it deterministic. @defaultValue Math.random */
  random?: () => number;
}

export interface ApplicationSnapshot {
  /** Bumped on every Application received (streamed or polled). */
  version: number;
  /** Undefined until the first one arrives, and after a DELETED event. */
  application: Application | undefined;
}

export type WatchMode = 'connecting' | 'streaming' | 'polling' | 'closed';

export interface ApplicationWatch {
  snapshot(): ApplicationSnapshot;
  /**
   * Resolves with the snapshot once its version is above `since`, or after `maxWaitMs` (or an
   * abort of `signal`) with whatever is current. Rejects with a non-retryable error (bad
   * token, application gone) once the watch has met one.
   */
  next(since: number, maxWaitMs: number, signal?: AbortSignal): Promise<ApplicationSnapshot>;
  mode(): WatchMode;
  close(): void;
}

export interface ApplicationWatchDeps {
  /** Opens the stream; rejects with a typed Argo CD error on a refused or failed connect. */
  openStream(signal: AbortSignal): Promise<AsyncIterable<Buffer>>;
  /** One GET of the Application (the fallback poll and the resync). */
  getApplication(signal: AbortSignal): Promise<Application>;
  logger?: Logger | undefined;
  /** Names the watch in errors and logs. */
  name: string;
}

function resourceVersion(app: Application | undefined): string | undefined {
  return (app?.metadata as { resourceVersion?: string } | undefined)?.resourceVersion;
}

const fatal = (err: unknown) => err instanceof ShipgateError && !err.retryable;

export function createApplicationWatch(
  deps: ApplicationWatchDeps,
  settings: ApplicationWatchSettings = {},
): ApplicationWatch {
  const fallbackPollMs = settings.fallbackPollMs ?? 10_000;
  const resyncMs = settings.resyncMs ?? 30_000;
  const stop = new AbortController();
  const waiters = new Set<() => void>();
  let version = 0;
  let current: Application | undefined;
  let streamedVersion: string | undefined;
  let failure: unknown;
  let mode: WatchMode = 'connecting';
  let pollTimer: NodeJS.Timeout | undefined;
  let polling = false;

  const wake = () => {
    for (const w of [...waiters]) w();
  };
  const publish = (app: Application | undefined) => {
    current = app;
    version += 1;
    wake();
  };
  const fail = (err: unknown) => {
    failure = err;
    stopFallback();
    stop.abort();
    wake();
  };

  async function poll(): Promise<void> {
    if (polling || stop.signal.aborted) return;
    polling = true;
    try {
      publish(await deps.getApplication(stop.signal));
    } catch (err) {
      if (fatal(err)) fail(err);
      else deps.logger?.debug({ err: String(err), app: deps.name }, 'Argo CD fallback poll failed');
    } finally {
      polling = false;
    }
  }
  function startFallback(): void {
    if (pollTimer || stop.signal.aborted) return;
    pollTimer = setInterval(() => void poll(), fallbackPollMs);
  }
  function stopFallback(): void {
    clearInterval(pollTimer);
    pollTimer = undefined;
  }

  function handleLine(line: string): void {
    let message: { result?: { type?: string; application?: unknown }; error?: { message?: string } };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      throw ArgoCdUnavailable(`watch ${deps.name}`, 'the stream sent a line that is not JSON');
    }
    if (message.error) {
      throw ArgoCdUnavailable(`watch ${deps.name}`, message.error.message ?? 'stream error');
    }
    const event = message.result;
    if (!event) return;
    if (event.type === 'DELETED') {
      streamedVersion = undefined;
      publish(undefined);
      return;
    }
    const parsed = ApplicationSchema.safeParse(event.application);
    if (!parsed.success) {
      deps.logger?.warn({ app: deps.name }, 'Argo CD stream event without a valid Application; ignored');
      return;
    }
    streamedVersion = resourceVersion(parsed.data);
    publish(parsed.data);
  }

  /** Reads one stream until it ends or drops; always throws, so `retry` reconnects. */
  async function follow(attemptSignal: AbortSignal): Promise<never> {
    const own = new AbortController();
    const signal = AbortSignal.any([attemptSignal, own.signal]);
    const chunks = await deps.openStream(signal);
    mode = 'streaming';
    stopFallback();
    let quiet: NodeJS.Timeout | undefined;
    const resync = async () => {
      try {
        const app = await deps.getApplication(signal);
        const live = resourceVersion(app);
        if (live !== undefined && live === streamedVersion) {
          arm();
          return;
        }
        deps.logger?.info({ app: deps.name }, 'Argo CD stream fell behind; resyncing');
        publish(app);
      } catch (err) {
        if (fatal(err)) return fail(err);
      }
      own.abort();
    };
    const arm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(() => void resync(), resyncMs);
    };
    arm();
    const decoder = new StringDecoder('utf8');
    let pending = '';
    try {
      for await (const chunk of chunks) {
        arm();
        pending += decoder.write(chunk);
        for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (line) handleLine(line);
        }
      }
    } finally {
      clearTimeout(quiet);
    }
    // A half line left in `pending` was cut off mid-event: dropped, the reconnect resyncs.
    throw ArgoCdUnavailable(`watch ${deps.name}`, 'the stream ended');
  }

  void retry(
    follow,
    {
      attempts: Number.POSITIVE_INFINITY,
      minDelayMs: settings.reconnectMinMs ?? 100,
      maxDelayMs: settings.reconnectMaxMs ?? 5_000,
      retryable: (err) => !fatal(err),
      ...(settings.random ? { random: settings.random } : {}),
      onRetry: ({ err, delayMs }) => {
        if (stop.signal.aborted) return;
        mode = 'polling';
        startFallback();
        deps.logger?.debug(
          { err: String(err), app: deps.name, delayMs },
          'Argo CD stream down; reconnecting',
        );
      },
    },
    stop.signal,
  ).catch((err: unknown) => {
    if (!stop.signal.aborted) fail(err);
  });

  const snapshot = (): ApplicationSnapshot => ({ version, application: current });

  return {
    snapshot,
    mode: () => (stop.signal.aborted ? 'closed' : mode),
    next(since, maxWaitMs, signal) {
      if (failure !== undefined) return Promise.reject(failure as Error);
      if (version > since || signal?.aborted) return Promise.resolve(snapshot());
      return new Promise<ApplicationSnapshot>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          signal?.removeEventListener('abort', done);
          if (failure !== undefined) reject(failure as Error);
          else resolve(snapshot());
        };
        const timer = setTimeout(done, Math.max(0, maxWaitMs));
        waiters.add(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    },
    close() {
      stopFallback();
      stop.abort();
      wake();
    },
  };
}
