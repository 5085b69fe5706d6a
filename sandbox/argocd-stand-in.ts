/**
 * An Argo CD API server stand-in: the endpoints Shipgate calls, with the request and answer
 * shapes of Argo CD's swagger.json and a real Application (the velero fixture) as the
 * starting object. It checks the bearer token, records every request, and lets a test decide
 * what a sync does (Succeeded, Failed, Error, which revision, how fast), fail like an
 * unreachable server (503 from a proxy, connection reset), and react to Rollout actions.
 *
 * It also serves the application watch stream, `GET /api/v1/stream/applications?name=…`, as
 * Argo CD's grpc-gateway does: a chunked `application/json` body of newline-delimited
 * `{"result":{"type":"ADDED|MODIFIED|DELETED","application":{…}}}` (swagger: "Stream result of
 * v1alpha1ApplicationWatchEvent"), the current state as ADDED first, then one MODIFIED per
 * change. Every change bumps `metadata.resourceVersion`, as the Kubernetes API does. Tests can
 * cut streams mid-event, mute them, or refuse them while plain GETs keep working.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeServer, listenOnFreePort } from './listen.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ARGOCD_FIXTURES = path.resolve(here, '../test/fixtures/argocd');

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface SyncBehaviour {
  /** Final operation phase. @defaultValue 'Succeeded' */
  result?: 'Succeeded' | 'Failed' | 'Error';
  /** Revision the sync lands on. @defaultValue the requested revision */
  revision?: string;
  /** Time the operation stays Running. @defaultValue 20 */
  delayMs?: number;
  message?: string;
  /** Health Argo CD reports after the sync. @defaultValue 'Healthy' */
  health?: string;
}

export interface RecordedAction {
  application: string;
  body: Json;
}

export interface ArgoCdStandIn {
  url: string;
  token: string;
  /** The live Application object (a copy). */
  application(name: string): Json;
  addApplication(name: string, options?: { revision?: string; autoSync?: boolean; namespace?: string }): Json;
  mutateApplication(name: string, mutate: (app: Json) => void): void;
  /** Behaviour of syncs from now on (per application; a function decides per revision). */
  onSync(name: string, behaviour: SyncBehaviour | ((revision: string) => SyncBehaviour)): void;
  /** Runs when a sync finishes, before Argo CD reports it, as Argo CD applying manifests (play the cluster here). */
  onSynced(handler: (application: string, revision: string, phase: string) => void | Promise<void>): void;
  /** Runs when a resource action arrives (play the Rollouts controller here). */
  onAction(handler: (action: RecordedAction) => void | Promise<void>): void;
  /** `503`: a proxy's HTML 503. `reset`: the TCP connection is dropped. `null`: reachable. */
  setUnavailable(mode: '503' | 'reset' | null, forMs?: number): void;
  /** The next requests fail in this order, one mode each (an outage that does not depend on timing). */
  failNextRequests(modes: ('503' | 'reset')[]): void;
  /** Plain reads of an Application are accepted and never answered (an API server that hangs). */
  hangApplicationReads(on: boolean): void;
  /** The watch stream: cut open streams, mute them, refuse new ones. */
  streams: {
    /** Streams opened so far (refused ones included) and open now. */
    readonly opened: number;
    readonly open: number;
    /** Writes half of an event to every open stream, then drops the connection. */
    dropMidEvent(): void;
    /** Muted streams stay open but send nothing (a proxy black-holing them). */
    mute(on: boolean): void;
    /** `503`: new streams get a proxy's 503 (plain GETs still work). `null`: served. */
    refuse(mode: '503' | null): void;
  };
  syncs: RecordedAction[];
  actions: RecordedAction[];
  terminations: string[];
  requests: { method: string; path: string; query: string; authorized: boolean; answered: number }[];
  close(): Promise<void>;
}

function grpcError(res: ServerResponse, http: number, code: number, message: string): void {
  res.writeHead(http, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: message, code, message, details: [] }));
}

export async function startArgoCdStandIn(): Promise<ArgoCdStandIn> {
  const token = `argocd-token-${randomUUID()}`;
  const fixture = JSON.parse(
    readFileSync(path.join(ARGOCD_FIXTURES, 'application-velero-synced-healthy.json'), 'utf8'),
  ) as Json;
  const apps = new Map<string, Json>();
  const behaviours = new Map<string, SyncBehaviour | ((revision: string) => SyncBehaviour)>();
  const syncedHandlers: ((a: string, r: string, p: string) => void | Promise<void>)[] = [];
  const actionHandlers: ((a: RecordedAction) => void | Promise<void>)[] = [];
  let unavailable: '503' | 'reset' | null = null;
  let unavailableTimer: NodeJS.Timeout | undefined;
  const queuedFailures: ('503' | 'reset')[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const subscribers = new Set<{ name: string | null; res: ServerResponse }>();
  let streamsOpened = 0;
  let muted = false;
  let hangReads = false;
  let refuseStreams: '503' | null = null;
  let resourceVersion = 1_000;

  const event = (type: string, app: Json) => `${JSON.stringify({ result: { type, application: app } })}\n`;

  /** Every change to an Application goes through here: new resourceVersion, one MODIFIED event. */
  function changed(name: string, type: 'MODIFIED' | 'DELETED' = 'MODIFIED'): void {
    const app = apps.get(name);
    if (!app) return;
    resourceVersion += 1;
    app.metadata.resourceVersion = String(resourceVersion);
    if (muted) return;
    const line = event(type, app);
    for (const s of subscribers) if (s.name === null || s.name === name) s.res.write(line);
  }

  function mustGet(name: string): Json {
    const app = apps.get(name);
    if (!app) throw new Error(`no application ${name}`);
    return app;
  }

  /** Like Argo CD: resources are applied first (the handlers), then the operation is reported. */
  async function complete(name: string, revision: string, behaviour: SyncBehaviour): Promise<void> {
    const phase = behaviour.result ?? 'Succeeded';
    const landed = behaviour.revision ?? revision;
    for (const h of syncedHandlers) await h(name, landed, phase);
    const app = apps.get(name);
    if (!app) return;
    const state = app.status.operationState as Json;
    state.phase = phase;
    state.finishedAt = new Date().toISOString();
    state.message =
      behaviour.message ??
      (phase === 'Succeeded'
        ? 'successfully synced (all tasks run)'
        : 'one or more objects failed to apply, reason: Rollout.argoproj.io "web" is invalid');
    state.syncResult = { ...(state.syncResult ?? {}), revision: landed, resources: [] };
    delete app.operation;
    if (phase === 'Succeeded') {
      app.status.sync = { ...app.status.sync, status: 'Synced', revision: landed };
      app.status.health = { status: behaviour.health ?? 'Healthy' };
      const history = (app.status.history ?? []) as Json[];
      history.push({
        id: (history.at(-1)?.id ?? 0) + 1,
        revision: landed,
        deployStartedAt: state.startedAt,
        deployedAt: state.finishedAt,
        source: app.spec.source,
      });
      app.status.history = history;
    } else {
      app.status.sync = { ...app.status.sync, status: 'OutOfSync', revision: landed };
    }
    app.status.reconciledAt = state.finishedAt;
    changed(name);
  }

  async function readJson(req: IncomingMessage): Promise<Json> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text ? (JSON.parse(text) as Json) : {};
  }

  const api: ArgoCdStandIn = {
    url: '',
    token,
    application: (name) => structuredClone(mustGet(name)),
    addApplication(name, options = {}) {
      const app = structuredClone(fixture);
      app.metadata.name = name;
      app.metadata.namespace = options.namespace ?? 'argocd';
      delete app.metadata.ownerReferences;
      app.spec.project = 'shipgate-apps';
      app.spec.source = {
        repoURL: 'https://github.com/acme/env.git',
        path: `apps/${name}`,
        targetRevision: 'main',
      };
      if (options.autoSync)
        app.spec.syncPolicy = { ...app.spec.syncPolicy, automated: { prune: true, selfHeal: true } };
      const revision = options.revision ?? '0000000000000000000000000000000000000000';
      app.status.sync.revision = revision;
      app.status.operationState.operation.sync.revision = revision;
      app.status.operationState.syncResult.revision = revision;
      apps.set(name, app);
      changed(name);
      return structuredClone(app);
    },
    mutateApplication: (name, mutate) => {
      mutate(mustGet(name));
      changed(name);
    },
    onSync: (name, behaviour) => behaviours.set(name, behaviour),
    onSynced: (h) => syncedHandlers.push(h),
    onAction: (h) => actionHandlers.push(h),
    setUnavailable(mode, forMs) {
      clearTimeout(unavailableTimer);
      unavailable = mode;
      if (mode !== null && forMs !== undefined) {
        unavailableTimer = setTimeout(() => {
          unavailable = null;
        }, forMs);
      }
    },
    failNextRequests(modes) {
      queuedFailures.push(...modes);
    },
    hangApplicationReads(on) {
      hangReads = on;
    },
    streams: {
      get opened() {
        return streamsOpened;
      },
      get open() {
        return subscribers.size;
      },
      dropMidEvent() {
        for (const s of subscribers) {
          const app = s.name ? apps.get(s.name) : undefined;
          const line = event('MODIFIED', app ?? {});
          s.res.write(line.slice(0, Math.floor(line.length / 2)));
          s.res.socket?.destroy();
        }
        subscribers.clear();
      },
      mute(on) {
        muted = on;
      },
      refuse(mode) {
        refuseStreams = mode;
      },
    },
    syncs: [],
    actions: [],
    terminations: [],
    requests: [],
    close: async () => {
      clearTimeout(unavailableTimer);
      for (const t of timers) clearTimeout(t);
      for (const s of subscribers) s.res.socket?.destroy();
      subscribers.clear();
      await closeServer(server);
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const authorized = req.headers.authorization === `Bearer ${token}`;
    const record = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      authorized,
      answered: 0,
    };
    api.requests.push(record);
    const failure = queuedFailures.shift() ?? unavailable;
    if (failure === 'reset') {
      record.answered = -1;
      req.socket.destroy();
      return;
    }
    if (failure === '503') {
      record.answered = 503;
      res.writeHead(503, { 'content-type': 'text/html' });
      res.end('<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>');
      return;
    }
    const reply = (status: number, body: unknown) => {
      record.answered = status;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const fail = (http: number, code: number, message: string) => {
      record.answered = http;
      grpcError(res, http, code, message);
    };
    if (!authorized) return fail(401, 16, 'invalid session: token signature is invalid');
    if (req.method === 'GET' && url.pathname === '/api/v1/stream/applications') {
      streamsOpened += 1;
      if (refuseStreams === '503') {
        record.answered = 503;
        res.writeHead(503, { 'content-type': 'text/html' });
        res.end('<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>');
        return;
      }
      record.answered = 200;
      const name = url.searchParams.get('name');
      res.writeHead(200, { 'content-type': 'application/json' });
      const subscriber = { name, res };
      subscribers.add(subscriber);
      req.on('close', () => subscribers.delete(subscriber));
      if (muted) return;
      for (const [n, app] of apps) if (name === null || name === n) res.write(event('ADDED', app));
      return;
    }
    const m = /^\/api\/v1\/applications\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (!m) return fail(404, 5, 'Not Found');
    const name = decodeURIComponent(m[1]!);
    const sub = m[2] ?? '';
    const app = apps.get(name);
    if (!app) return fail(404, 5, `applications.argoproj.io "${name}" not found`);

    if (req.method === 'GET' && sub === '') {
      // Held until the client gives up (close() destroys what is left).
      if (hangReads) return;
      const refresh = url.searchParams.get('refresh');
      if (refresh) {
        app.status.reconciledAt = new Date().toISOString();
        changed(name);
      }
      return reply(200, app);
    }
    if (req.method === 'POST' && sub === '/sync') {
      const body = await readJson(req);
      api.syncs.push({ application: name, body });
      if (typeof body.revision !== 'string' || body.name !== name) {
        return fail(400, 3, 'sync request needs name and revision');
      }
      if (app.operation || app.status.operationState?.phase === 'Running') {
        return fail(400, 9, 'another operation is already in progress');
      }
      const operation = {
        sync: { revision: body.revision, prune: body.prune === true, syncStrategy: { hook: {} } },
        info: body.infos ?? [],
        initiatedBy: { username: 'shipgate' },
        retry: {},
      };
      app.operation = operation;
      app.status.operationState = {
        operation: structuredClone(operation),
        phase: 'Running',
        message: 'waiting for healthy state of argoproj.io/Rollout/web',
        startedAt: new Date().toISOString(),
      };
      changed(name);
      const configured = behaviours.get(name) ?? {};
      const behaviour = typeof configured === 'function' ? configured(body.revision as string) : configured;
      const t = setTimeout(() => {
        timers.delete(t);
        void complete(name, body.revision as string, behaviour).catch(() => undefined);
      }, behaviour.delayMs ?? 20);
      timers.add(t);
      return reply(200, app);
    }
    if (req.method === 'POST' && sub === '/resource/actions/v2') {
      const body = await readJson(req);
      for (const field of ['namespace', 'resourceName', 'version', 'kind', 'action']) {
        if (typeof body[field] !== 'string') return fail(400, 3, `missing ${field}`);
      }
      if (
        body.kind === 'Rollout' &&
        !['resume', 'abort', 'retry', 'promote-full', 'restart', 'pause'].includes(body.action)
      ) {
        return fail(400, 3, `action ${body.action} not found for Rollout`);
      }
      const action = { application: name, body };
      api.actions.push(action);
      for (const h of actionHandlers) await h(action);
      return reply(200, {});
    }
    if (req.method === 'DELETE' && sub === '/operation') {
      api.terminations.push(name);
      if (app.status.operationState?.phase !== 'Running') {
        return fail(400, 3, 'Unable to terminate operation. No operation is in progress');
      }
      app.status.operationState.phase = 'Failed';
      app.status.operationState.message = 'Operation terminated';
      delete app.operation;
      changed(name);
      return reply(200, {});
    }
    return fail(404, 5, 'Not Found');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) grpcError(res, 500, 13, String(err));
      else res.end();
    });
  });
  api.url = await listenOnFreePort(server);
  return api;
}
