/**
 * A Kubernetes API server stand-in for tests: an in-memory object store behind the real
 * REST paths and wire formats (lists, Status errors, resourceVersion, NDJSON watch streams,
 * status subresource, pod logs, merge and JSON patches). Tests drive it through the real
 * `@kubernetes/client-node` with the kubeconfig it writes, and play the controllers
 * (Job → Pod → completion, Rollout status changes) with `onCreate` and `patchStatus`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { closeServer, listenOnFreePort } from './listen.js';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string }[];
    [key: string]: unknown;
  };
  spec?: unknown;
  status?: unknown;
  [key: string]: unknown;
}

type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
interface WatchEvent {
  type: WatchEventType;
  object: KubeObject;
  resourceVersion: number;
  plural: string;
}
interface OpenWatch {
  plural: string;
  namespace: string | undefined;
  labelSelector: string | undefined;
  fieldSelector: string | undefined;
  res: ServerResponse;
}

export interface KubeStandIn {
  url: string;
  /** A kubeconfig file (bearer token) pointing at `url`: `KubeConfig.loadFromFile(kubeconfigPath)`. */
  kubeconfigPath: string;
  token: string;
  objects(plural: string, namespace?: string): KubeObject[];
  get(plural: string, namespace: string, name: string): KubeObject | undefined;
  /** Creates or replaces by apiVersion+kind; bumps resourceVersion; emits ADDED or MODIFIED. */
  upsert(obj: KubeObject): KubeObject;
  /** Shallow-merges `status` into the object's status; emits MODIFIED. */
  patchStatus(plural: string, namespace: string, name: string, status: Record<string, unknown>): KubeObject;
  /** Deletes the object and, like the garbage collector, everything it owns; emits DELETED. */
  remove(plural: string, namespace: string, name: string): void;
  setPodLog(namespace: string, pod: string, text: string): void;
  /** Runs after an object of `plural` is created over HTTP: play the controller here. */
  onCreate(plural: string, handler: (obj: KubeObject, api: KubeStandIn) => void | Promise<void>): void;
  /** Ends every open watch stream, as an API server or a load balancer does now and then. */
  dropWatches(): void;
  /** Forgets watch history older than now, so a watch from an older resourceVersion gets 410 Gone. */
  compactHistory(): void;
  /** The number of watch streams open now. */
  openWatchCount(): number;
  requests: { method: string; path: string; query: string }[];
  close(): Promise<void>;
}

const CLUSTER_SCOPED = new Set(['namespaces', 'nodes', 'clusterroles', 'clusterrolebindings']);

/** Kind → plural the way the API server names resources (Ingress → ingresses, Policy → policies). */
export function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower === 'endpoints') return lower;
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

function keyOf(plural: string, namespace: string | undefined, name: string): string {
  return `${plural}/${namespace ?? ''}/${name}`;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** RFC 7386 JSON merge patch. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const base =
    target !== null && typeof target === 'object' && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null) delete base[k];
    else base[k] = mergePatch(base[k], v);
  }
  return base;
}

/** RFC 6902 JSON patch: add, replace, remove, test (what clients send in practice). */
function jsonPatch(doc: unknown, ops: { op: string; path: string; value?: unknown }[]): unknown {
  const root = clone(doc) as Record<string, unknown>;
  for (const op of ops) {
    const parts = op.path
      .split('/')
      .slice(1)
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = parts.pop();
    if (last === undefined) throw new Error(`bad patch path ${op.path}`);
    let parent: Record<string, unknown> | unknown[] = root;
    for (const part of parts) {
      const next = (parent as Record<string, unknown>)[part];
      if (next === undefined || next === null || typeof next !== 'object') {
        if (op.op === 'add') (parent as Record<string, unknown>)[part] = {};
        else throw new Error(`path ${op.path} not found`);
      }
      parent = (parent as Record<string, unknown>)[part] as Record<string, unknown>;
    }
    if (op.op === 'test') {
      const current = (parent as Record<string, unknown>)[last];
      if (JSON.stringify(current) !== JSON.stringify(op.value)) throw new Error(`test failed at ${op.path}`);
    } else if (op.op === 'remove') {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else if (op.op === 'add' || op.op === 'replace') {
      if (Array.isArray(parent)) {
        if (last === '-') parent.push(op.value);
        else if (op.op === 'add') parent.splice(Number(last), 0, op.value);
        else parent[Number(last)] = op.value;
      } else parent[last] = op.value;
    } else throw new Error(`unsupported patch op ${op.op}`);
  }
  return root;
}

function matchesLabels(obj: KubeObject, selector: string | undefined): boolean {
  if (!selector) return true;
  const labels = obj.metadata.labels ?? {};
  return selector
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .every((term) => {
      const inMatch = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
      if (inMatch) {
        const values = inMatch[3]!.split(',').map((v) => v.trim());
        const has = values.includes(labels[inMatch[1]!] ?? '\u0000');
        return inMatch[2] === 'in' ? has : !has;
      }
      if (term.startsWith('!')) return !(term.slice(1) in labels);
      const neq = term.split('!=');
      if (neq.length === 2) return labels[neq[0]!] !== neq[1];
      const eq = term.split(/==?/);
      if (eq.length === 2) return labels[eq[0]!] === eq[1];
      return term in labels;
    });
}

function matchesFields(obj: KubeObject, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const [field, value] = term.split('=');
    if (field === 'metadata.name') return obj.metadata.name === value;
    if (field === 'metadata.namespace') return obj.metadata.namespace === value;
    return true;
  });
}

interface ParsedPath {
  apiVersion: string;
  namespace: string | undefined;
  plural: string;
  name: string | undefined;
  subresource: string | undefined;
}

/** /api/v1/namespaces/{ns}/{plural}/{name}/{sub} and /apis/{group}/{version}/… */
function parsePath(pathname: string): ParsedPath | undefined {
  const parts = pathname.split('/').filter(Boolean);
  let apiVersion: string;
  let rest: string[];
  if (parts[0] === 'api' && parts[1]) {
    apiVersion = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts[1] && parts[2]) {
    apiVersion = `${parts[1]}/${parts[2]}`;
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [plural, name, subresource] = rest;
  if (!plural) return undefined;
  return { apiVersion, namespace, plural, name, subresource };
}

function statusBody(code: number, reason: string, message: string, name?: string, plural?: string) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    details: name ? { name, kind: plural } : undefined,
    code,
  };
}

export async function startKubeApiStandIn(): Promise<KubeStandIn> {
  const token = `kube-token-${randomUUID()}`;
  const store = new Map<string, { plural: string; obj: KubeObject }>();
  const podLogs = new Map<string, string>();
  const createHandlers = new Map<string, ((obj: KubeObject, api: KubeStandIn) => void | Promise<void>)[]>();
  const history: WatchEvent[] = [];
  let historyFloor = 0;
  const watches = new Set<OpenWatch>();
  const requests: KubeStandIn['requests'] = [];
  let resourceVersion = 1;

  function emit(type: WatchEventType, plural: string, obj: KubeObject): void {
    const event: WatchEvent = { type, object: clone(obj), resourceVersion, plural };
    history.push(event);
    for (const w of watches) {
      if (w.plural !== plural) continue;
      if (w.namespace !== undefined && obj.metadata.namespace !== w.namespace) continue;
      if (!matchesLabels(obj, w.labelSelector) || !matchesFields(obj, w.fieldSelector)) continue;
      w.res.write(`${JSON.stringify({ type, object: event.object })}\n`);
    }
  }

  function put(plural: string, obj: KubeObject, mode: 'create' | 'replace' | 'upsert'): KubeObject {
    const key = keyOf(plural, obj.metadata.namespace, obj.metadata.name);
    const existing = store.get(key);
    if (mode === 'create' && existing) throw Object.assign(new Error('exists'), { status: 409 });
    if (mode === 'replace' && !existing) throw Object.assign(new Error('missing'), { status: 404 });
    resourceVersion += 1;
    const stored = clone(obj);
    const prevMeta = existing?.obj.metadata;
    const specChanged = JSON.stringify(existing?.obj.spec) !== JSON.stringify(obj.spec);
    stored.metadata = {
      ...stored.metadata,
      uid: prevMeta?.uid ?? stored.metadata.uid ?? randomUUID(),
      creationTimestamp: prevMeta?.creationTimestamp ?? new Date().toISOString(),
      generation: (prevMeta?.generation ?? 0) + (existing && !specChanged ? 0 : 1),
      resourceVersion: String(resourceVersion),
    };
    store.set(key, { plural, obj: stored });
    emit(existing ? 'MODIFIED' : 'ADDED', plural, stored);
    return clone(stored);
  }

  function removeCascade(
    plural: string,
    namespace: string | undefined,
    name: string,
  ): KubeObject | undefined {
    const key = keyOf(plural, namespace, name);
    const entry = store.get(key);
    if (!entry) return undefined;
    store.delete(key);
    resourceVersion += 1;
    const deleted = {
      ...entry.obj,
      metadata: { ...entry.obj.metadata, resourceVersion: String(resourceVersion) },
    };
    emit('DELETED', plural, deleted);
    const uid = entry.obj.metadata.uid;
    for (const other of [...store.values()]) {
      if (other.obj.metadata.ownerReferences?.some((ref) => ref.uid === uid)) {
        removeCascade(other.plural, other.obj.metadata.namespace, other.obj.metadata.name);
      }
    }
    return deleted;
  }

  function list(plural: string, namespace?: string): KubeObject[] {
    return [...store.values()]
      .filter(
        (e) => e.plural === plural && (namespace === undefined || e.obj.metadata.namespace === namespace),
      )
      .map((e) => clone(e.obj));
  }

  function send(res: ServerResponse, code: number, body: unknown): void {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(code, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
    res.end(text);
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  const api: KubeStandIn = {
    url: '',
    kubeconfigPath: '',
    token,
    objects: list,
    get: (plural, namespace, name) => {
      const entry = store.get(keyOf(plural, namespace, name));
      return entry ? clone(entry.obj) : undefined;
    },
    upsert: (obj) => put(pluralOf(obj.kind), obj, 'upsert'),
    patchStatus: (plural, namespace, name, status) => {
      const entry = store.get(keyOf(plural, namespace, name));
      if (!entry) throw new Error(`${plural}/${namespace}/${name} not found`);
      const next = clone(entry.obj);
      next.status = { ...((next.status as Record<string, unknown>) ?? {}), ...status };
      return put(plural, next, 'replace');
    },
    remove: (plural, namespace, name) => {
      removeCascade(plural, namespace, name);
    },
    setPodLog: (namespace, pod, text) => podLogs.set(`${namespace}/${pod}`, text),
    onCreate: (plural, handler) => {
      createHandlers.set(plural, [...(createHandlers.get(plural) ?? []), handler]);
    },
    dropWatches: () => {
      for (const w of watches) w.res.end();
      watches.clear();
    },
    compactHistory: () => {
      historyFloor = resourceVersion;
      history.length = 0;
    },
    openWatchCount: () => watches.size,
    requests,
    close: async () => {
      api.dropWatches();
      await closeServer(server);
      rmSync(path.dirname(api.kubeconfigPath), { recursive: true, force: true });
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.search });
    if (req.headers.authorization !== `Bearer ${token}`) {
      send(res, 401, statusBody(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    const parsed = parsePath(url.pathname);
    if (!parsed) {
      send(res, 404, statusBody(404, 'NotFound', `the server could not find the requested resource`));
      return;
    }
    const { apiVersion, namespace, plural, name, subresource } = parsed;
    const method = req.method ?? 'GET';
    const labelSelector = url.searchParams.get('labelSelector') ?? undefined;
    const fieldSelector = url.searchParams.get('fieldSelector') ?? undefined;
    const isWatch = ['true', '1'].includes(url.searchParams.get('watch') ?? '');

    if (method === 'GET' && !name && isWatch) {
      const from = url.searchParams.get('resourceVersion');
      if (from && Number(from) < historyFloor) {
        // What a real API server says when the requested version has been compacted away.
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(
          `${JSON.stringify({ type: 'ERROR', object: statusBody(410, 'Expired', `too old resource version: ${from} (${historyFloor})`) })}\n`,
        );
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      // Clients wait for the headers before they report the watch as open.
      res.flushHeaders();
      const watch: OpenWatch = { plural, namespace, labelSelector, fieldSelector, res };
      const relevant = (obj: KubeObject) =>
        (namespace === undefined || obj.metadata.namespace === namespace) &&
        matchesLabels(obj, labelSelector) &&
        matchesFields(obj, fieldSelector);
      if (from && from !== '0') {
        for (const e of history) {
          if (e.plural === plural && e.resourceVersion > Number(from) && relevant(e.object)) {
            res.write(`${JSON.stringify({ type: e.type, object: e.object })}\n`);
          }
        }
      } else {
        for (const obj of list(plural, namespace).filter(relevant)) {
          res.write(`${JSON.stringify({ type: 'ADDED', object: obj })}\n`);
        }
      }
      watches.add(watch);
      req.on('close', () => watches.delete(watch));
      return;
    }

    if (method === 'GET' && !name) {
      const items = list(plural, namespace).filter(
        (o) => matchesLabels(o, labelSelector) && matchesFields(o, fieldSelector),
      );
      const kind = items[0]?.kind ?? plural;
      send(res, 200, {
        apiVersion,
        kind: `${kind}List`,
        metadata: { resourceVersion: String(resourceVersion) },
        items,
      });
      return;
    }

    if (method === 'POST' && !name) {
      const body = JSON.parse(await readBody(req)) as KubeObject;
      if (!body.metadata?.name && typeof body.metadata?.generateName === 'string') {
        body.metadata.name = `${body.metadata.generateName}${randomUUID().slice(0, 5)}`;
      }
      body.metadata.namespace = CLUSTER_SCOPED.has(plural)
        ? undefined
        : (namespace ?? body.metadata.namespace);
      try {
        const created = put(plural, body, 'create');
        send(res, 201, created);
      } catch {
        send(
          res,
          409,
          statusBody(
            409,
            'AlreadyExists',
            `${plural} "${body.metadata.name}" already exists`,
            body.metadata.name,
            plural,
          ),
        );
        return;
      }
      for (const handler of createHandlers.get(plural) ?? []) {
        await handler(api.get(plural, namespace ?? '', body.metadata.name) ?? body, api);
      }
      return;
    }

    if (!name) {
      send(res, 405, statusBody(405, 'MethodNotAllowed', `${method} not allowed`));
      return;
    }
    const key = keyOf(plural, namespace, name);
    const entry = store.get(key);

    if (method === 'GET' && subresource === 'log') {
      if (!entry) {
        send(res, 404, statusBody(404, 'NotFound', `pods "${name}" not found`, name, plural));
        return;
      }
      let text = podLogs.get(`${namespace}/${name}`) ?? '';
      const tailLines = url.searchParams.get('tailLines');
      if (tailLines)
        text = text
          .split('\n')
          .slice(-Number(tailLines) - 1)
          .join('\n');
      send(res, 200, text);
      return;
    }
    if (!entry) {
      send(res, 404, statusBody(404, 'NotFound', `${plural} "${name}" not found`, name, plural));
      return;
    }
    if (method === 'GET') {
      send(res, 200, entry.obj);
      return;
    }
    if (method === 'DELETE') {
      const deleted = removeCascade(plural, namespace, name);
      send(res, 200, deleted);
      return;
    }
    if (method === 'PUT' || method === 'PATCH') {
      const raw = await readBody(req);
      let next: KubeObject;
      try {
        const body = JSON.parse(raw) as unknown;
        const contentType = req.headers['content-type'] ?? '';
        if (method === 'PUT') next = body as KubeObject;
        else if (contentType.includes('json-patch')) {
          next = jsonPatch(entry.obj, body as { op: string; path: string; value?: unknown }[]) as KubeObject;
        } else next = mergePatch(entry.obj, body) as KubeObject;
      } catch (err) {
        send(res, 422, statusBody(422, 'Invalid', (err as Error).message));
        return;
      }
      const sent = next.metadata?.resourceVersion;
      if (method === 'PUT' && sent && sent !== entry.obj.metadata.resourceVersion) {
        send(res, 409, statusBody(409, 'Conflict', 'the object has been modified', name, plural));
        return;
      }
      // The status subresource changes only status; the main resource never changes status.
      const merged: KubeObject =
        subresource === 'status'
          ? { ...clone(entry.obj), status: next.status }
          : { ...next, metadata: { ...next.metadata, name, namespace }, status: entry.obj.status };
      send(res, 200, put(plural, merged, 'replace'));
      return;
    }
    send(res, 405, statusBody(405, 'MethodNotAllowed', `${method} not allowed`));
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, statusBody(500, 'InternalError', String(err)));
      else res.end();
    });
  });
  api.url = await listenOnFreePort(server);

  const dir = mkdtempSync(path.join(tmpdir(), 'kube-stand-in-'));
  api.kubeconfigPath = path.join(dir, 'kubeconfig');
  writeFileSync(
    api.kubeconfigPath,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: stand-in',
      '  cluster:',
      `    server: ${api.url}`,
      // client-node 1.x refuses plain HTTP unless TLS verification is explicitly off.
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: stand-in',
      '  user:',
      `    token: ${token}`,
      'contexts:',
      '- name: stand-in',
      '  context:',
      '    cluster: stand-in',
      '    user: stand-in',
      '    namespace: default',
      'current-context: stand-in',
      '',
    ].join('\n'),
  );
  return api;
}
