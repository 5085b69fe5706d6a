/**
 * GitHub's OAuth web flow for a GitHub App, for the console's sign-in in tests and the demo:
 * the authorize page (a person types the login to sign in as), the code exchange, and the
 * three reads Shipgate makes with the user token (`/user`, `/user/orgs`, `/user/teams`).
 * Mounted by the GitHub stand-in, so GITHUB_WEB_URL and GITHUB_API_URL can both point at it.
 *
 * As on github.com: codes are single-use, expire after 10 minutes and are bound to the
 * client id and redirect URI they were issued for; the client secret is checked; user
 * tokens are opaque and only work on the user endpoints.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface OAuthUser {
  login: string;
  name?: string;
  /** Organisation logins. */
  orgs?: string[];
  /** `org/team-slug`. */
  teams?: string[];
}

export interface OAuthStandIn {
  readonly clientId: string;
  readonly clientSecret: string;
  /** People who can sign in (unknown logins are refused on the authorize page). */
  addUser(user: OAuthUser): void;
  /** Sign-ins completed (codes exchanged) per login. */
  signIns(login: string): number;
  /** Invalidates every user token issued so far, as revoking the App's authorization would. */
  revokeUserTokens(): void;
  /** Answers the request when it is an OAuth or user route; false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean>;
}

const CODE_TTL_MS = 10 * 60_000;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function page(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in to GitHub (stand-in)</title></head><body><main>${body}</main></body></html>`,
  );
}

export function createOAuthStandIn(): OAuthStandIn {
  const clientId = `Iv23li${randomBytes(7).toString('hex')}`;
  const clientSecret = randomBytes(20).toString('hex');
  const users = new Map<string, OAuthUser>();
  const codes = new Map<string, { login: string; redirectUri: string; expiresAt: number }>();
  const tokens = new Map<string, string>();
  const signIns = new Map<string, number>();

  function authorizeForm(query: URLSearchParams, error?: string): string {
    const hidden = ['client_id', 'redirect_uri', 'state']
      .map((k) => `<input type="hidden" name="${k}" value="${escapeHtml(query.get(k) ?? '')}">`)
      .join('');
    return `<h1>Sign in to GitHub</h1><p>to continue to Shipgate (GitHub stand-in)</p>${
      error ? `<p role="alert">${escapeHtml(error)}</p>` : ''
    }<form method="get" action="/login/oauth/authorize/confirm">${hidden}<label>Username or email address <input name="login" autocomplete="username" required></label> <button type="submit">Authorize</button></form>`;
  }

  function userOf(req: IncomingMessage): OAuthUser | undefined {
    const match = /^(?:token|bearer) (\S+)$/i.exec(req.headers.authorization ?? '');
    const login = match ? tokens.get(match[1]!) : undefined;
    return login === undefined ? undefined : users.get(login);
  }

  return {
    clientId,
    clientSecret,
    addUser(user) {
      users.set(user.login.toLowerCase(), user);
    },
    signIns: (login) => signIns.get(login.toLowerCase()) ?? 0,
    revokeUserTokens: () => tokens.clear(),

    async handle(req, res, url) {
      const method = (req.method ?? 'GET').toUpperCase();
      const q = url.searchParams;
      if (method === 'GET' && url.pathname === '/login/oauth/authorize') {
        if (q.get('client_id') !== clientId) {
          page(res, 404, '<h1>404</h1><p>No application with this client id.</p>');
          return true;
        }
        page(res, 200, authorizeForm(q));
        return true;
      }
      if (method === 'GET' && url.pathname === '/login/oauth/authorize/confirm') {
        const user = users.get((q.get('login') ?? '').trim().toLowerCase());
        const redirectUri = q.get('redirect_uri') ?? '';
        if (q.get('client_id') !== clientId || !/^https?:\/\//.test(redirectUri)) {
          page(res, 400, '<h1>Bad request</h1>');
          return true;
        }
        if (!user) {
          page(res, 200, authorizeForm(q, 'Incorrect username or password.'));
          return true;
        }
        const code = randomBytes(10).toString('hex');
        codes.set(code, {
          login: user.login.toLowerCase(),
          redirectUri,
          expiresAt: Date.now() + CODE_TTL_MS,
        });
        const target = new URL(redirectUri);
        target.searchParams.set('code', code);
        target.searchParams.set('state', q.get('state') ?? '');
        res.writeHead(302, { location: target.href });
        res.end();
        return true;
      }
      if (method === 'POST' && url.pathname === '/login/oauth/access_token') {
        const text = await readText(req);
        const body: Record<string, string> = (req.headers['content-type'] ?? '').includes('json')
          ? (JSON.parse(text || '{}') as Record<string, string>)
          : Object.fromEntries(new URLSearchParams(text));
        const code = codes.get(body.code ?? '');
        if (body.code) codes.delete(body.code);
        if (body.client_id !== clientId || body.client_secret !== clientSecret) {
          json(res, 200, {
            error: 'incorrect_client_credentials',
            error_description: 'The client_id and/or client_secret passed are incorrect.',
          });
          return true;
        }
        if (
          !code ||
          code.expiresAt < Date.now() ||
          (body.redirect_uri && body.redirect_uri !== code.redirectUri)
        ) {
          json(res, 200, {
            error: 'bad_verification_code',
            error_description: 'The code passed is incorrect or expired.',
          });
          return true;
        }
        const token = `ghu_${randomBytes(18).toString('hex')}`;
        tokens.set(token, code.login);
        signIns.set(code.login, (signIns.get(code.login) ?? 0) + 1);
        json(res, 200, { access_token: token, token_type: 'bearer', scope: '' });
        return true;
      }
      if (
        method === 'GET' &&
        (url.pathname === '/user' || url.pathname === '/user/orgs' || url.pathname === '/user/teams')
      ) {
        const user = userOf(req);
        if (!user) {
          json(res, 401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
          return true;
        }
        if (url.pathname === '/user') {
          json(res, 200, {
            login: user.login,
            id: 1000 + [...users.keys()].indexOf(user.login.toLowerCase()),
            type: 'User',
            name: user.name ?? null,
            avatar_url: null,
          });
        } else if (url.pathname === '/user/orgs') {
          json(
            res,
            200,
            (user.orgs ?? []).map((login) => ({ login })),
          );
        } else {
          json(
            res,
            200,
            (user.teams ?? []).map((t) => {
              const [org, slug] = t.split('/');
              return { slug, name: slug, organization: { login: org } };
            }),
          );
        }
        return true;
      }
      return false;
    },
  };
}
