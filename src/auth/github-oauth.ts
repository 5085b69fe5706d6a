import { Octokit } from '@octokit/core';
import { exchangeWebFlowCode, getWebFlowAuthorizationUrl } from '@octokit/oauth-methods';
import { z } from 'zod';
import type { ConsoleConfig } from '../config.js';
import { OAuthFailed } from '../errors.js';
import { OAUTH_CALLBACK_PATH } from './auth-guard.js';
import { fetchWithTimeout } from '../github/fetch-with-timeout.js';

/**
 * Sign-in with the GitHub App's OAuth web flow (github.com and GHES alike): the authorize URL
 * and the code exchange on GitHub's web host, the user, orgs and teams on its REST API.
 * The user token is used for those three reads and dropped: Shipgate keeps no GitHub token.
 */

export interface GithubIdentity {
  login: string;
  name: string | null;
  avatarUrl: string | null;
  orgs: string[];
  /** `org/slug`. */
  teams: string[];
}

const UserSchema = z.object({
  login: z.string().min(1).max(60),
  name: z.string().max(200).nullable().optional(),
  avatar_url: z.string().max(500).nullable().optional(),
});
const OrgsSchema = z.array(z.object({ login: z.string().max(100) }));
const TeamsSchema = z.array(
  z.object({ slug: z.string().max(100), organization: z.object({ login: z.string().max(100) }) }),
);

export interface GithubOAuthOptions {
  config: Pick<ConsoleConfig, 'githubWebUrl' | 'oauthClientId' | 'oauthClientSecret' | 'publicUrl'>;
  /** REST base URL (GITHUB_API_URL). */
  apiUrl: string;
  /** @defaultValue 10000 */
  timeoutMs?: number;
}

export interface GithubOAuth {
  authorizeUrl(state: string): string;
  /** Exchanges the callback's code and reads who signed in. Throws `OAuthFailed`. */
  identify(code: string): Promise<GithubIdentity>;
}

export function createGithubOAuth(options: GithubOAuthOptions): GithubOAuth {
  const fetch = fetchWithTimeout(options.timeoutMs ?? 10_000);
  const web = new Octokit({ baseUrl: options.config.githubWebUrl, request: { fetch } });
  const redirectUrl = `${options.config.publicUrl}${OAUTH_CALLBACK_PATH}`;
  const api = (token: string) =>
    new Octokit({ baseUrl: options.apiUrl, auth: token, request: { fetch, retries: 0 } });

  return {
    authorizeUrl(state) {
      return getWebFlowAuthorizationUrl({
        clientType: 'github-app',
        clientId: options.config.oauthClientId,
        redirectUrl,
        state,
        allowSignup: false,
        request: web.request,
      }).url;
    },

    async identify(code) {
      let token: string;
      try {
        const { authentication } = await exchangeWebFlowCode({
          clientType: 'github-app',
          clientId: options.config.oauthClientId,
          clientSecret: options.config.oauthClientSecret,
          code,
          redirectUrl,
          request: web.request,
        });
        token = authentication.token;
      } catch (err) {
        // The message may quote GitHub's error_description; it never holds the secret or code.
        throw OAuthFailed('the code exchange was refused', { cause: err });
      }
      try {
        const octokit = api(token);
        const [user, orgs, teams] = await Promise.all([
          octokit.request('GET /user'),
          octokit.request('GET /user/orgs', { per_page: 100 }),
          // A GitHub App without the organization "Members" permission cannot list teams (403):
          // the person then signs in with their login and orgs only, and team entries do not match.
          octokit.request('GET /user/teams', { per_page: 100 }).catch(() => ({ data: [] })),
        ]);
        const u = UserSchema.parse(user.data);
        return {
          login: u.login,
          name: u.name ?? null,
          avatarUrl: u.avatar_url ?? null,
          orgs: OrgsSchema.parse(orgs.data).map((o) => o.login),
          teams: TeamsSchema.parse(teams.data).map((t) => `${t.organization.login}/${t.slug}`),
        };
      } catch (err) {
        throw OAuthFailed('could not read the signed-in user from GitHub', { cause: err });
      }
    },
  };
}
