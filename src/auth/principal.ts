/**
 * Who is calling: a person signed in with GitHub (session cookie) or a named API token.
 * Routes read it from `request.principal` after the auth guard ran.
 */

export const TOKEN_SCOPES = ['read', 'approve', 'rollback', 'admin'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export interface Principal {
  /**
   * The identity recorded as the actor: the GitHub login for a session, `token:<name>` for a
   * named token, `api-token` for SHIPGATE_API_TOKEN.
   */
  login: string;
  name: string | null;
  avatarUrl: string | null;
  via: 'session' | 'token';
  /** Sessions: the GitHub orgs (logins) the person belongs to, at sign-in. */
  orgs: readonly string[];
  /** Sessions: the GitHub teams as `org/slug`, at sign-in. */
  teams: readonly string[];
  /** Tokens only: what the token may do. Sessions get their roles from the policy. */
  scope?: TokenScope;
  /** Sessions only: the value the `x-csrf-token` header must carry on state-changing requests. */
  csrfToken?: string;
  /** Sessions only: the stored session's id hash, for logout. */
  sessionKey?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth guard (`src/auth/auth-guard.ts`). */
    principal?: Principal;
  }
}
