/**
 * A small typed client for the Argo CD API server (there is no maintained TypeScript client;
 * `argo-client-ts` does not exist). It only talks: deciding what an answer means is
 * `src/deploy`'s job.
 *
 * Why Shipgate never calls `POST /api/v1/applications/{name}/rollback`: Argo CD refuses it
 * while automated sync is on ("rollback cannot be initiated when auto-sync is enabled"), and
 * even when it works it leaves git pointing at the bad version, which the next auto-sync or
 * refresh re-applies. Shipgate rolls back through git (a revert commit) and syncs to it.
 */
import type { z } from 'zod';
import type { Logger } from '../logger.js';
import { retry, type RetryPolicy } from '../retry/retry.js';
import {
  ArgoCdNotFound,
  ArgoCdOperationInProgress,
  ArgoCdRejected,
  ArgoCdResponseInvalid,
  ArgoCdTlsFailed,
  ArgoCdUnauthorized,
  ArgoCdUnavailable,
  ShipgateError,
} from '../errors.js';
import {
  createApplicationWatch,
  type ApplicationWatch,
  type ApplicationWatchSettings,
} from './application-watch.js';
import { createHttpTransport, isTlsFailure, TransportError, type HttpTransport } from './http-transport.js';
import {
  ApplicationSchema,
  RuntimeErrorSchema,
  type Application,
  type Info,
  type ResourceActionRequest,
  type RolloutAction,
  type SyncRequest,
} from './schema.js';

export interface ArgoCdClientOptions {
  /** Base URL of the Argo CD API server (ARGOCD_SERVER), e.g. `https://argocd.example.com`. */
  server: string;
  /** An Argo CD API token (ARGOCD_TOKEN). Sent only in the Authorization header. */
  token: string;
  /** PEM of a private CA (contents of ARGOCD_CA_FILE). */
  ca?: string | Buffer;
  /** Skip TLS verification (ARGOCD_INSECURE). Development only. @defaultValue false */
  insecure?: boolean;
  /** Per-attempt deadline. @defaultValue 15000 */
  timeoutMs?: number;
  /** Attempts after the first, on network errors, timeouts, 429 and 5xx. @defaultValue 4 */
  retries?: number;
  /** First backoff step; doubles each attempt, with full jitter. @defaultValue 250 */
  backoffBaseMs?: number;
  /** Cap of one backoff step. @defaultValue 4000 */
  backoffMaxMs?: number;
  /** Read through a function so tests can make jitter deterministic. @defaultValue Math.random */
  random?: () => number;
  /** Defaults for `watchApplication` (fallback poll, resync, reconnect back-off). */
  watch?: ApplicationWatchSettings;
  /** Where the watch logs reconnects and resyncs. */
  logger?: Logger;
}

/** Where an Application lives when Argo CD runs "apps in any namespace". */
export interface AppScope {
  appNamespace?: string;
  project?: string;
}

export interface SyncInput extends AppScope {
  /** The env-repo commit to sync to. */
  revision: string;
  /** @defaultValue false */
  prune?: boolean;
  /** Shown in Argo CD's UI beside the operation, and how Shipgate recognises its own sync. */
  runId: string;
  sourceCommit: string;
}

export interface SyncResult {
  /** `already-running`: Argo CD said another operation is in progress, and it is ours (same revision). */
  status: 'started' | 'already-running';
  application: Application;
}

export interface RolloutRef {
  namespace: string;
  name: string;
}

export interface ArgoCdClient {
  getApplication(
    name: string,
    options?: AppScope & { refresh?: 'normal' | 'hard'; signal?: AbortSignal },
  ): Promise<Application>;
  sync(name: string, input: SyncInput, signal?: AbortSignal): Promise<SyncResult>;
  runResourceAction(
    application: string,
    request: Omit<ResourceActionRequest, 'name'>,
    signal?: AbortSignal,
  ): Promise<void>;
  /** `resume`, `abort`, `retry` or `promote-full` on an argoproj.io/v1alpha1 Rollout. */
  rolloutAction(
    application: string,
    rollout: RolloutRef,
    action: RolloutAction,
    scope?: AppScope,
    signal?: AbortSignal,
  ): Promise<void>;
  /** Terminates the running operation; a no-op answer when none runs is not an error. */
  terminateOperation(name: string, scope?: AppScope, signal?: AbortSignal): Promise<void>;
  /**
   * Follows one Application through Argo CD's watch stream, reconnecting with back-off and
   * polling slowly only while the stream is down (see `application-watch.ts`). Close it.
   */
  watchApplication(name: string, options?: AppScope & ApplicationWatchSettings): ApplicationWatch;
  close(): void;
}

const IN_PROGRESS = /another operation is already in progress/i;
const NO_OPERATION = /unable to terminate operation\. no operation is in progress/i;

/** Infos Shipgate attaches to every sync it starts. */
export function shipgateSyncInfos(runId: string, sourceCommit: string): Info[] {
  return [
    { name: 'shipgate-run', value: runId },
    { name: 'source-commit', value: sourceCommit },
  ];
}

/** True when the operation requested or running on `app` targets `revision`. */
export function operationTargets(app: Application, revision: string): boolean {
  const requested = app.operation?.sync;
  if (requested && (requested.revision === revision || requested.revisions?.includes(revision))) return true;
  const state = app.status?.operationState;
  if (!state || (state.phase !== 'Running' && state.phase !== 'Terminating')) return false;
  const running = state.operation?.sync;
  return running?.revision === revision || running?.revisions?.includes(revision) === true;
}

export function createArgoCdClient(options: ArgoCdClientOptions): ArgoCdClient {
  const server = options.server.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 15_000;
  const retries = options.retries ?? 4;
  const base = options.backoffBaseMs ?? 250;
  const cap = options.backoffMaxMs ?? 4_000;
  const random = options.random ?? Math.random;
  const transport: HttpTransport = createHttpTransport({ ca: options.ca, insecure: options.insecure });

  function query(params: Record<string, string | undefined>): string {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined) search.set(k, v);
    const s = search.toString();
    return s ? `?${s}` : '';
  }

  function appPath(name: string, suffix = ''): string {
    return `/api/v1/applications/${encodeURIComponent(name)}${suffix}`;
  }

  /** One attempt, mapped to a typed error. The token never appears in any message. */
  async function attempt(
    operation: string,
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; json: unknown }> {
    let res;
    try {
      res = await transport.request({
        url: `${server}${path}`,
        method,
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${options.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        timeoutMs,
        signal,
      });
    } catch (err) {
      throw transportError(operation, err);
    }
    const json = parseBody(res.body);
    if (res.status >= 200 && res.status < 300) return { status: res.status, json };
    throw answerError(operation, res.status, json);
  }

  function parseBody(body: string): unknown {
    if (body.length === 0) return undefined;
    try {
      return JSON.parse(body) as unknown;
    } catch {
      // A proxy in front of Argo CD (ingress, load balancer) answers HTML on 502/503.
      return undefined;
    }
  }

  /** A non-2xx answer as a typed error. */
  function answerError(operation: string, status: number, json: unknown): ShipgateError {
    const parsed = RuntimeErrorSchema.safeParse(json);
    const message =
      (parsed.success ? (parsed.data.message ?? parsed.data.error) : undefined) ?? `HTTP ${status}`;
    const details = { status, grpcCode: parsed.success ? parsed.data.code : undefined };
    if (status === 401 || status === 403) return ArgoCdUnauthorized(operation, status, { details });
    if (status === 404) return ArgoCdNotFound(`${operation} target (${message})`, { details });
    if (status === 429 || status >= 500) {
      return ArgoCdUnavailable(operation, `HTTP ${status}: ${message}`, { details });
    }
    if (IN_PROGRESS.test(message)) return ArgoCdOperationInProgress(operation, { details });
    return ArgoCdRejected(operation, status, message, { details });
  }

  function transportError(operation: string, err: unknown): ShipgateError {
    const code = err instanceof TransportError ? err.code : 'ECONNERROR';
    if (isTlsFailure(code)) return ArgoCdTlsFailed(`${code}: ${(err as Error).message}`, { cause: err });
    return ArgoCdUnavailable(operation, `${code}: ${(err as Error).message}`, { cause: err });
  }

  /** Opens the watch stream of one Application; the body is read by `application-watch.ts`. */
  async function openWatchStream(
    name: string,
    scope: AppScope,
    signal: AbortSignal,
  ): Promise<AsyncIterable<Buffer>> {
    const operation = `watch application ${name}`;
    let stream;
    try {
      stream = await transport.stream({
        url: `${server}/api/v1/stream/applications${query({
          name,
          appNamespace: scope.appNamespace,
          projects: scope.project,
        })}`,
        headers: { accept: 'application/json', authorization: `Bearer ${options.token}` },
        connectTimeoutMs: timeoutMs,
        signal,
      });
    } catch (err) {
      throw transportError(operation, err);
    }
    if (stream.errorBody !== undefined) {
      throw answerError(operation, stream.status, parseBody(stream.errorBody));
    }
    return stream.chunks;
  }

  /**
   * Bounded retries with full-jitter exponential backoff, only for retryable failures. "Another
   * operation is in progress" is retryable for the job, not here: the caller decides.
   */
  const policy: RetryPolicy = {
    attempts: retries + 1,
    minDelayMs: base,
    maxDelayMs: cap,
    jitter: 'full',
    random,
    retryable: (err) => err instanceof ShipgateError && err.retryable && !ArgoCdOperationInProgress.is(err),
  };
  async function call(
    operation: string,
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    return retry(async (s) => (await attempt(operation, method, path, body, s)).json, policy, signal);
  }

  function parse<T extends z.ZodType>(schema: T, operation: string, json: unknown): z.infer<T> {
    const result = schema.safeParse(json);
    if (!result.success) {
      throw ArgoCdResponseInvalid(
        operation,
        result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    }
    return result.data;
  }

  async function getApplication(
    name: string,
    opts: AppScope & { refresh?: 'normal' | 'hard'; signal?: AbortSignal } = {},
  ): Promise<Application> {
    const json = await call(
      `get application ${name}`,
      'GET',
      appPath(name, query({ refresh: opts.refresh, appNamespace: opts.appNamespace, project: opts.project })),
      undefined,
      opts.signal,
    );
    return parse(ApplicationSchema, `get application ${name}`, json);
  }

  async function sync(name: string, input: SyncInput, signal?: AbortSignal): Promise<SyncResult> {
    const body: SyncRequest = {
      name,
      revision: input.revision,
      prune: input.prune ?? false,
      infos: shipgateSyncInfos(input.runId, input.sourceCommit),
      ...(input.appNamespace === undefined ? {} : { appNamespace: input.appNamespace }),
      ...(input.project === undefined ? {} : { project: input.project }),
    };
    try {
      const json = await call(`sync ${name}`, 'POST', appPath(name, '/sync'), body, signal);
      return { status: 'started', application: parse(ApplicationSchema, `sync ${name}`, json) };
    } catch (err) {
      if (!ArgoCdOperationInProgress.is(err)) throw err;
      // A retried POST whose first answer was lost lands here, as does an auto-sync that
      // picked up our commit first: both already do what we asked.
      const app = await getApplication(name, { ...input, signal });
      if (operationTargets(app, input.revision)) return { status: 'already-running', application: app };
      throw ArgoCdOperationInProgress(`sync ${name} to ${input.revision}`, { cause: err });
    }
  }

  async function runResourceAction(
    application: string,
    request: Omit<ResourceActionRequest, 'name'>,
    signal?: AbortSignal,
  ): Promise<void> {
    // Rollout actions set fields (status.abort, pauseConditions, status.promoteFull): sending
    // one twice leaves the same state, so retrying a POST whose answer was lost is safe.
    await call(
      `${request.action} ${request.kind} ${request.resourceName}`,
      'POST',
      appPath(application, '/resource/actions/v2'),
      { name: application, ...request },
      signal,
    );
  }

  return {
    getApplication,
    sync,
    runResourceAction,
    rolloutAction: (application, rollout, action, scope = {}, signal) =>
      runResourceAction(
        application,
        {
          namespace: rollout.namespace,
          resourceName: rollout.name,
          group: 'argoproj.io',
          version: 'v1alpha1',
          kind: 'Rollout',
          action,
          ...scope,
        },
        signal,
      ),
    async terminateOperation(name, scope = {}, signal) {
      try {
        await call(
          `terminate operation on ${name}`,
          'DELETE',
          appPath(name, `/operation${query({ ...scope })}`),
          undefined,
          signal,
        );
      } catch (err) {
        if (ArgoCdRejected.is(err) && NO_OPERATION.test(err.message)) return;
        throw err;
      }
    },
    watchApplication(name, opts = {}) {
      const { appNamespace, project, ...settings } = opts;
      const scope = {
        ...(appNamespace === undefined ? {} : { appNamespace }),
        ...(project === undefined ? {} : { project }),
      };
      return createApplicationWatch(
        {
          name,
          logger: options.logger,
          openStream: (signal) => openWatchStream(name, scope, signal),
          getApplication: (signal) => getApplication(name, { ...scope, signal }),
        },
        { ...options.watch, ...settings },
      );
    },
    close: () => transport.close(),
  };
}
