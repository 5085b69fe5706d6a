import { createPublicKey, createVerify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listenOnFreePort } from './listen.js';

/**
 * A local stand-in for GitHub's two App webhook endpoints, speaking their REST wire format
 * (docs.github.com/rest/apps/webhooks):
 * - `GET /app/hook/deliveries?per_page&cursor`: items newest first, paged by an opaque cursor
 *   in a `Link: <…>; rel="next"` header.
 * - `POST /app/hook/deliveries/{delivery_id}/attempts`: 202 `{}`; 404 for an unknown id.
 * Both require `Authorization: Bearer <App JWT>`: RS256, verified against the App's public
 * key, `iss` = the App id, unexpired — as GitHub does.
 */
export interface StandInDelivery {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery: boolean;
  duration: number;
  status: string;
  status_code: number;
  event: string;
  action: string | null;
  installation_id: number | null;
  repository_id: number | null;
}

export interface HookDeliveriesStandIn {
  baseUrl: string;
  deliveries: StandInDelivery[];
  /** Attempt ids POSTed to `/attempts`, in order. */
  redeliveryRequests: number[];
  /** Requests that failed JWT verification. */
  unauthorized: number;
  listRequests: number;
  /** Adds an attempt (a new id; newest ids are listed first). */
  add(
    d: Omit<StandInDelivery, 'id' | 'duration' | 'status' | 'redelivery'> &
      Partial<Omit<StandInDelivery, 'id'>>,
  ): StandInDelivery;
  close(): Promise<void>;
}

export interface StandInOptions {
  appId: string;
  publicKeyPem: string;
  /** What a requested redelivery does: by default GitHub records a new attempt that fails. */
  onRedeliver?: (original: StandInDelivery, standIn: HookDeliveriesStandIn) => void;
}

function b64urlJson(part: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

function verifyJwt(header: string | undefined, key: KeyObject, appId: string): boolean {
  const m = /^bearer ([\w-]+)\.([\w-]+)\.([\w-]+)$/i.exec(header ?? '');
  if (m === null) return false;
  const [, h, p, s] = m as unknown as [string, string, string, string];
  if (b64urlJson(h).alg !== 'RS256') return false;
  const verifier = createVerify('RSA-SHA256');
  verifier.update(`${h}.${p}`);
  if (!verifier.verify(key, Buffer.from(s, 'base64url'))) return false;
  const claims = b64urlJson(p);
  const now = Math.floor(Date.now() / 1000);
  // The auth scheme is case-insensitive (octokit sends "bearer").
  return String(claims.iss) === appId && typeof claims.exp === 'number' && claims.exp > now;
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

export async function startHookDeliveriesStandIn(options: StandInOptions): Promise<HookDeliveriesStandIn> {
  const key = createPublicKey(options.publicKeyPem);
  let nextId = 1_000_000;
  let baseUrl = '';
  const standIn: HookDeliveriesStandIn = {
    baseUrl,
    deliveries: [],
    redeliveryRequests: [],
    unauthorized: 0,
    listRequests: 0,
    add(d) {
      nextId += 1;
      const ok = d.status_code >= 200 && d.status_code < 300;
      const full: StandInDelivery = {
        redelivery: false,
        duration: 0.27,
        ...d,
        status:
          d.status ??
          (ok ? 'OK' : d.status_code === 0 ? 'timed out' : `Invalid HTTP Response: ${d.status_code}`),
        id: nextId,
      };
      standIn.deliveries.push(full);
      return full;
    },
    close: async () => closeServer(server),
  };
  const onRedeliver =
    options.onRedeliver ??
    ((original, s) => {
      const { id: _id, status: _status, ...rest } = original;
      s.add({ ...rest, redelivery: true, status_code: 503, delivered_at: new Date().toISOString() });
    });

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (!verifyJwt(req.headers.authorization, key, options.appId)) {
      standIn.unauthorized += 1;
      send(res, 401, { message: 'A JSON web token could not be decoded', status: '401' });
      return;
    }
    const url = new URL(req.url ?? '/', baseUrl);
    if (req.method === 'GET' && url.pathname === '/app/hook/deliveries') {
      standIn.listRequests += 1;
      const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 30), 100);
      const cursor = url.searchParams.get('cursor');
      const sorted = [...standIn.deliveries].sort((a, b) => b.id - a.id);
      const start = cursor === null ? 0 : sorted.findIndex((d) => d.id < Number(cursor.replace(/^v1_/, '')));
      const page = start < 0 ? [] : sorted.slice(start, start + perPage);
      const headers: Record<string, string> = {};
      const last = page[page.length - 1];
      if (last !== undefined && start + perPage < sorted.length) {
        headers.link = `<${baseUrl}/app/hook/deliveries?per_page=${perPage}&cursor=v1_${last.id}>; rel="next"`;
      }
      send(res, 200, page, headers);
      return;
    }
    const attempt = /^\/app\/hook\/deliveries\/(\d+)\/attempts$/.exec(url.pathname);
    if (req.method === 'POST' && attempt !== null) {
      const original = standIn.deliveries.find((d) => d.id === Number(attempt[1]));
      if (original === undefined) {
        send(res, 404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
        return;
      }
      standIn.redeliveryRequests.push(original.id);
      onRedeliver(original, standIn);
      send(res, 202, {});
      return;
    }
    send(res, 404, { message: 'Not Found' });
  };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handle(req, res));
  });
  baseUrl = await listenOnFreePort(server);
  standIn.baseUrl = baseUrl;
  return standIn;
}
