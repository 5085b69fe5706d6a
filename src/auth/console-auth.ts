import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { RedisClient } from '../redis/connection.js';
import type { Config } from '../config.js';
import {
  createEnvRepoPolicySource,
  envRepoOptions,
  type EnvRepoGithub,
  type PolicySource,
} from '../engine/context/env-repo.js';
import type { EnvRepoOptions } from '../gitops/write-env-path.js';
import type { GithubAppOptions } from '../github/index.js';
import type { Logger } from '../logger.js';
import { AuthGuard } from './auth-guard.js';
import { SessionStore } from './session-store.js';
import { TokenStore } from './token-store.js';

/** Everything the API routes need to know who calls and what they may do. One per process. */
export interface ConsoleAuth {
  guard: AuthGuard;
  tokens: TokenStore;
  sessions: SessionStore | undefined;
  policy: PolicySource | undefined;
  /** The env repo as the server reads it (environments matrix, rollback preview). */
  envRepo: EnvRepoOptions | undefined;
}

/** Key prefix of sessions and tokens: `<queuePrefix>:console`. */
export function consoleKeyPrefix(config: Pick<Config, 'queuePrefix'>): string {
  return `${config.queuePrefix}:console`;
}

/**
 * The platform policy as the server reads it, for roles: the env repo's tip, re-read at most
 * every 10 s. It uses a checkout of its own so it never races the workers' clone. Without
 * ENV_REPO (or without App credentials for an `owner/name` env repo) there is no policy, and
 * sessions have no roles: tokens keep working.
 */
export function serverEnvRepo(
  config: Readonly<Config>,
  logger: Logger,
): { options: EnvRepoOptions; policy: PolicySource } | undefined {
  if (config.envRepo === undefined) return undefined;
  const isUrl = /^(https?|file|ssh):\/\//.test(config.envRepo);
  const { appId, privateKey } = config.github;
  if (!isUrl && (appId === undefined || privateKey === undefined)) {
    logger.warn('console: ENV_REPO is owner/name but the App key is not set here; console roles are off');
    return undefined;
  }
  const github =
    isUrl || appId === undefined || privateKey === undefined
      ? undefined
      : lazyGithubApp({ appId, privateKey, apiUrl: config.github.apiUrl, logger });
  const workDir = path.join(config.dataDir, 'console-policy');
  mkdirSync(workDir, { recursive: true });
  const options = { ...envRepoOptions(config, github), workDir };
  return { options, policy: createEnvRepoPolicySource(options) };
}

/**
 * The App as the console's env-repo reads use it (an installation token to fetch with), with
 * Octokit and its plugins imported on the first fetch rather than when `shipgate serve` starts.
 */
function lazyGithubApp(options: GithubAppOptions): EnvRepoGithub {
  let app: Promise<EnvRepoGithub> | undefined;
  const load = () => (app ??= import('../github/index.js').then((m) => m.createGithubApp(options)));
  return {
    findRepoInstallation: async (owner, repo) => (await load()).findRepoInstallation(owner, repo),
    getInstallationToken: async (id, opts) => (await load()).getInstallationToken(id, opts),
  };
}

export function createConsoleAuth(deps: {
  config: Readonly<Config>;
  redis: RedisClient;
  logger: Logger;
  policy?: PolicySource;
}): ConsoleAuth {
  const { config, redis, logger } = deps;
  const prefix = consoleKeyPrefix(config);
  const tokens = new TokenStore(redis, prefix);
  const sessions = config.console
    ? new SessionStore(redis, prefix, config.console.sessionTtlHours * 3_600_000)
    : undefined;
  const envRepo = serverEnvRepo(config, logger);
  const policy = deps.policy ?? envRepo?.policy;
  const guard = new AuthGuard({ config, tokens, sessions, policy, logger });
  return { guard, tokens, sessions, policy, envRepo: envRepo?.options };
}
