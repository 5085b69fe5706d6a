/**
 * A local stand-in of GitHub's OAuth web flow and the three user endpoints the console reads,
 * in GitHub's wire format:
 *
 *   GET  /login/oauth/authorize    ?client_id&redirect_uri&state[&login]  → 302 redirect_uri?code&state
 *                                  (without `login`: a small page to pick a user, for the demo)
 *   POST /login/oauth/access_token form or JSON { client_id, client_secret, code, redirect_uri }
 *                                  → { access_token, token_type, scope } or { error, error_description, error_uri }
 *   GET  /user, /user/orgs, /user/teams   with `Authorization: token|Bearer <access_token>`
 *
 * Never imported by src/. Tests and `shipgate demo` point GITHUB_WEB_URL / GITHUB_API_URL at it.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listenOnFreePort } from './listen.js';

export interface OAuthUser {
  login: string;
  name?: string;
  orgs?: string[];
  /** `org/slug`. */
  teams?: string[];
}

export interface OAuthStandInOptions {
  clientId: string;
  clientSecret: string;
  users: OAuthUser[];
}

export interface OAuthStandIn {
  url: string;
  /** Codes and tokens issued so far (tests assert on them). */
  issued: { codes: number; tokens: number };
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<Record<string, string>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    return JSON.parse(text || '{}') as Record<string, string>;
  }
  return Object.fromEntries(new URLSearchParams(text));
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The request handler; returns false for paths it does not serve, so it can share a server. */
export function createOAuthHandler(
  options: OAuthStandInOptions,
  issued = { codes: 0, tokens: 0 },
): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const codes = new Map<string, { login: string; redirectUri: string; expires: number }>();
  const tokens = new Map<string, string>();
  const userOf = (login: string) => options.users.find((u) => u.login === login);
  const error = (res: ServerResponse, code: string, description: string) =>
    // GitHub answers a refused exchange with 200 and an error body.
    json(res, 200, {
      error: code,
      error_description: description,
      error_uri: 'https://docs.github.com/apps/oauth',
    });

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    if (req.method === 'GET' && url.pathname === '/login/oauth/authorize') {
      const clientId = url.searchParams.get('client_id');
      const redirectUri = url.searchParams.get('redirect_uri') ?? '';
      const state = url.searchParams.get('state') ?? '';
      const login = url.searchParams.get('login');
      if (clientId !== options.clientId) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('unknown client_id');
        return true;
      }
      if (login === null || !userOf(login)) {
        const links = options.users
          .map((u) => {
            const next = new URL(url);
            next.searchParams.set('login', u.login);
            return `<li><a href="${escapeHtml(next.pathname + next.search)}">Sign in as ${escapeHtml(u.login)}</a> ${escapeHtml(u.name ?? '')}</li>`;
          })
          .join('');
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
          .end(
            `<!doctype html><title>GitHub stand-in: sign in</title><h1>GitHub stand-in</h1><ul>${links}</ul>`,
          );
        return true;
      }
      const code = randomBytes(10).toString('hex');
      codes.set(code, { login, redirectUri, expires: Date.now() + 600_000 });
      issued.codes += 1;
      const target = new URL(redirectUri);
      target.searchParams.set('code', code);
      target.searchParams.set('state', state);
      res.writeHead(302, { location: target.toString() }).end();
      return true;
    }
    if (req.method === 'POST' && url.pathname === '/login/oauth/access_token') {
      const body = await readBody(req);
      if (body.client_id !== options.clientId || body.client_secret !== options.clientSecret) {
        error(
          res,
          'incorrect_client_credentials',
          'The client_id and/or client_secret passed are incorrect.',
        );
        return true;
      }
      const entry = body.code === undefined ? undefined : codes.get(body.code);
      if (body.code !== undefined) codes.delete(body.code);
      if (!entry || entry.expires < Date.now()) {
        error(res, 'bad_verification_code', 'The code passed is incorrect or expired.');
        return true;
      }
      if (body.redirect_uri !== undefined && body.redirect_uri !== entry.redirectUri) {
        error(res, 'redirect_uri_mismatch', 'The redirect_uri MUST match the registered callback URL.');
        return true;
      }
      const token = `ghu_${randomBytes(18).toString('hex')}`;
      tokens.set(token, entry.login);
      issued.tokens += 1;
      json(res, 200, { access_token: token, token_type: 'bearer', scope: '' });
      return true;
    }
    if (req.method === 'GET' && ['/user', '/user/orgs', '/user/teams'].includes(url.pathname)) {
      const match = /^(?:token|bearer) (\S+)$/i.exec(req.headers.authorization ?? '');
      const login = match ? tokens.get(match[1]!) : undefined;
      const user = login === undefined ? undefined : userOf(login);
      if (!user) {
        json(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
        return true;
      }
      const id = 1000 + options.users.indexOf(user);
      if (url.pathname === '/user') {
        json(res, 200, {
          login: user.login,
          id,
          node_id: `U_${id}`,
          avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
          type: 'User',
          site_admin: false,
          name: user.name ?? null,
        });
      } else if (url.pathname === '/user/orgs') {
        json(
          res,
          200,
          (user.orgs ?? []).map((org, i) => ({
            login: org,
            id: 5000 + i,
            node_id: `O_${i}`,
            description: null,
          })),
        );
      } else {
        json(
          res,
          200,
          (user.teams ?? []).map((t, i) => {
            const [org, slug] = t.split('/') as [string, string];
            return {
              id: 7000 + i,
              node_id: `T_${i}`,
              name: slug,
              slug,
              privacy: 'closed',
              permission: 'pull',
              organization: { login: org, id: 5000, node_id: 'O_0' },
            };
          }),
        );
      }
      return true;
    }
    return false;
  };
}

/** The stand-in on its own server, 127.0.0.1 on a free port. */
export async function startOAuthStandIn(options: OAuthStandInOptions): Promise<OAuthStandIn> {
  const issued = { codes: 0, tokens: 0 };
  const handle = createOAuthHandler(options, issued);
  const server: Server = createServer((req, res) => {
    handle(req, res)
      .then((handled) => {
        if (!handled) json(res, 404, { message: 'Not Found' });
      })
      .catch(() => json(res, 500, { message: 'stand-in error' }));
  });
  const url = await listenOnFreePort(server);
  return { url, issued, close: () => closeServer(server) };
}
