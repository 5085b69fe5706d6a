import type {} from '@fastify/cookie';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import {
  AccessPolicyUnavailable,
  ApiTokenNotConfigured,
  CsrfRejected,
  Forbidden,
  Unauthorized,
} from '../errors.js';
import type { Logger } from '../logger.js';
import type { Policy } from '../policy/schema.js';
import type { PolicySource } from '../engine/context/env-repo.js';
import { decideRead, rolesOf, type Roles } from './access-decisions.js';
import type { Principal } from './principal.js';
import type { SessionStore } from './session-store.js';
import type { TokenStore } from './token-store.js';

export const SESSION_COOKIE = 'shipgate_session';
/** Where GitHub sends the browser back after the console's OAuth sign-in. */
export const OAUTH_CALLBACK_PATH = '/auth/callback';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Equal-length digests first, so neither length nor prefix of the secret leaks through timing. */
export function constantTimeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export type PreHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

export interface AuthGuardDeps {
  config: Pick<Config, 'apiToken' | 'console'>;
  tokens: TokenStore;
  /** Undefined when console sign-in is off. */
  sessions: SessionStore | undefined;
  /** The platform policy, for session roles and the environment names. Undefined: no policy. */
  policy: PolicySource | undefined;
  logger: Logger;
}

/**
 * Authentication and role checks for every API route: a session cookie (signed, looked up in
 * Redis; state-changing requests also need the session's CSRF token in `x-csrf-token`) or a
 * bearer token (SHIPGATE_API_TOKEN as admin, or a named `sgt_` token with its scope). Bearer
 * requests need no CSRF token: a browser never attaches an Authorization header by itself.
 */
export class AuthGuard {
  private readonly adminDigest: Buffer | undefined;

  constructor(private readonly deps: AuthGuardDeps) {
    this.adminDigest = deps.config.apiToken === undefined ? undefined : digest(deps.config.apiToken);
  }

  /** Who is calling; throws 401 (or 503 when no way to authenticate is configured at all). */
  async authenticate(request: FastifyRequest): Promise<Principal> {
    if (request.principal) return request.principal;
    const principal = await this.identify(request);
    if (principal.via === 'session' && !SAFE_METHODS.has(request.method)) {
      const sent = request.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !constantTimeEqual(sent, principal.csrfToken ?? ''))
        throw CsrfRejected();
    }
    request.principal = principal;
    return principal;
  }

  private async identify(request: FastifyRequest): Promise<Principal> {
    const header = request.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer ([^\s]+)$/i.exec(header);
      if (match === null) throw Unauthorized();
      const token = match[1]!;
      if (this.adminDigest !== undefined && timingSafeEqual(digest(token), this.adminDigest)) {
        return {
          login: 'api-token',
          name: null,
          avatarUrl: null,
          via: 'token',
          orgs: [],
          teams: [],
          scope: 'admin',
        };
      }
      const info = await this.deps.tokens.verify(token);
      if (info === undefined) throw Unauthorized();
      return {
        login: `token:${info.name}`,
        name: info.name,
        avatarUrl: null,
        via: 'token',
        orgs: [],
        teams: [],
        scope: info.scope,
      };
    }
    const raw = request.cookies?.[SESSION_COOKIE];
    if (raw !== undefined && this.deps.sessions !== undefined) {
      const unsigned = request.unsignCookie(raw);
      if (!unsigned.valid || unsigned.value === null) throw Unauthorized();
      const found = await this.deps.sessions.get(unsigned.value);
      if (found === undefined) throw Unauthorized();
      const s = found.session;
      return {
        login: s.login,
        name: s.name,
        avatarUrl: s.avatarUrl,
        via: 'session',
        orgs: s.orgs,
        teams: s.teams,
        csrfToken: s.csrfToken,
        sessionKey: found.key,
      };
    }
    // Keep the old answer when nothing could ever authenticate: the API is off, not open.
    if (this.adminDigest === undefined && this.deps.sessions === undefined) throw ApiTokenNotConfigured();
    throw Unauthorized();
  }

  /** The policy for session roles; a token does not need it to exist. */
  async policyFor(principal: Principal): Promise<Policy | undefined> {
    if (this.deps.policy === undefined) return undefined;
    try {
      return (await this.deps.policy.current()).policy;
    } catch (err) {
      if (principal.via === 'token') {
        this.deps.logger.warn(
          { err },
          'console: platform policy unreadable; token roles without environments',
        );
        return undefined;
      }
      throw AccessPolicyUnavailable(err instanceof Error ? err.message.slice(0, 200) : 'unknown error', {
        cause: err,
      });
    }
  }

  async rolesOf(
    request: FastifyRequest,
  ): Promise<{ principal: Principal; roles: Roles; policy: Policy | undefined }> {
    const principal = await this.authenticate(request);
    const policy = await this.policyFor(principal);
    return { principal, roles: rolesOf(principal, policy), policy };
  }

  /** preHandler: any authenticated caller (used by /api/me). */
  readonly authenticated: PreHandler = async (request) => {
    await this.authenticate(request);
  };

  /** preHandler: a viewer (sessions: the policy; tokens: any scope). */
  readonly viewer: PreHandler = async (request) => {
    const { roles } = await this.rolesOf(request);
    const decision = decideRead(roles);
    if (!decision.allowed) throw Forbidden(decision.reason);
  };

  /** preHandler: an admin (SHIPGATE_API_TOKEN or an admin-scoped token). */
  readonly admin: PreHandler = async (request) => {
    const principal = await this.authenticate(request);
    if (principal.scope !== 'admin') throw Forbidden('this needs an admin token');
  };

  /**
   * preHandler for a token scope or a session: tokens need `scope` (or admin); sessions pass
   * here and are decided by the route against the policy (approver/operator of that env).
   */
  scope(scope: 'approve' | 'rollback'): PreHandler {
    return async (request) => {
      const principal = await this.authenticate(request);
      if (principal.via === 'token' && principal.scope !== scope && principal.scope !== 'admin') {
        throw Forbidden(`this token's scope is ${principal.scope ?? 'none'}; this needs ${scope}`);
      }
    };
  }
}
