import { randomBytes } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import {
  constantTimeEqual,
  OAUTH_CALLBACK_PATH,
  SESSION_COOKIE,
  type AuthGuard,
} from '../auth/auth-guard.js';
import type { GithubOAuth } from '../auth/github-oauth.js';
import type { SessionStore } from '../auth/session-store.js';
import type { Config } from '../config.js';
import { ConsoleLoginDisabled, OAuthStateInvalid } from '../errors.js';

/**
 * Console sign-in with GitHub, and who am I.
 *
 *   GET  /auth/login      302 to GitHub's authorize page; sets a signed state cookie (10 min)
 *   GET  /auth/callback   ?code&state → checks the state, exchanges the code, reads the user,
 *                         orgs and teams, stores a session, sets the session cookie, 302 to /
 *   POST /auth/logout     deletes the session (needs x-csrf-token), clears the cookie; 204
 *   GET  /api/me          { login, name, avatarUrl, via, roles, csrfToken? }
 */
export const STATE_COOKIE = 'shipgate_oauth_state';
const STATE_MAX_AGE_S = 600;

const CallbackQuery = z.object({
  code: z.string().min(1).max(500),
  state: z.string().min(1).max(200),
});

export interface AuthRoutesOptions {
  config: Pick<Config, 'console' | 'github'>;
  guard: AuthGuard;
  sessions: SessionStore | undefined;
  /** Injected by tests; built from the config otherwise. */
  oauth?: GithubOAuth;
}

export function authRoutes(options: AuthRoutesOptions): FastifyPluginAsync {
  const consoleConfig = options.config.console;
  const secure = consoleConfig?.secureCookies ?? false;
  const ttlS = (consoleConfig?.sessionTtlHours ?? 12) * 3600;

  return async (app) => {
    // Octokit's OAuth client is loaded only when console sign-in is configured.
    const oauth =
      consoleConfig === undefined
        ? undefined
        : (options.oauth ??
          (await import('../auth/github-oauth.js')).createGithubOAuth({
            config: consoleConfig,
            apiUrl: options.config.github.apiUrl,
          }));
    app.get('/auth/login', async (_request, reply) => {
      if (!oauth) throw ConsoleLoginDisabled();
      const state = randomBytes(24).toString('base64url');
      void reply.setCookie(STATE_COOKIE, state, {
        signed: true,
        httpOnly: true,
        sameSite: 'lax',
        secure,
        path: '/auth',
        maxAge: STATE_MAX_AGE_S,
      });
      void reply.header('cache-control', 'no-store');
      return reply.redirect(oauth.authorizeUrl(state), 302);
    });

    app.get(OAUTH_CALLBACK_PATH, async (request, reply) => {
      if (!oauth || !options.sessions) throw ConsoleLoginDisabled();
      const query = CallbackQuery.safeParse(request.query ?? {});
      const rawState = request.cookies[STATE_COOKIE];
      const unsigned = rawState === undefined ? undefined : request.unsignCookie(rawState);
      // The state ties the callback to this browser's /auth/login: without it, an attacker could
      // sign a victim in as the attacker (login CSRF).
      if (
        !query.success ||
        unsigned === undefined ||
        !unsigned.valid ||
        unsigned.value === null ||
        !constantTimeEqual(unsigned.value, query.data.state)
      ) {
        throw OAuthStateInvalid();
      }
      void reply.clearCookie(STATE_COOKIE, { path: '/auth' });
      const who = await oauth.identify(query.data.code);
      const { id } = await options.sessions.create(who);
      void reply.setCookie(SESSION_COOKIE, id, {
        signed: true,
        httpOnly: true,
        sameSite: 'lax',
        secure,
        path: '/',
        maxAge: ttlS,
      });
      request.log.info({ login: who.login }, 'console sign-in');
      void reply.header('cache-control', 'no-store');
      return reply.redirect('/', 302);
    });

    app.post('/auth/logout', async (request, reply) => {
      const principal = await options.guard.authenticate(request);
      if (principal.sessionKey !== undefined && options.sessions) {
        await options.sessions.deleteByKey(principal.sessionKey);
      }
      void reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send();
    });

    app.get('/api/me', async (request, reply) => {
      const { principal, roles } = await options.guard.rolesOf(request);
      void reply.header('cache-control', 'no-store');
      return {
        login: principal.login,
        name: principal.name,
        avatarUrl: principal.avatarUrl,
        via: principal.via,
        roles,
        ...(principal.csrfToken === undefined ? {} : { csrfToken: principal.csrfToken }),
      };
    });
  };
}
