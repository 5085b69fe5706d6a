import { App } from '@octokit/app';
import { Octokit as OctokitCore } from '@octokit/core';
import { throttling } from '@octokit/plugin-throttling';
import type { ThrottlingOptions } from '@octokit/plugin-throttling';
import type { Logger } from '../logger.js';
import { callGithub, scrubSecrets } from './github-error.js';
import { fetchWithTimeout } from './fetch-with-timeout.js';
import { githubRetryPlugin } from './retry-plugin.js';
import { maskOutgoingTextPlugin } from './mask-outgoing-text.js';
import { concurrencyGroup, RetryingLimiter, tokenBucketGroup, unlimitedGroup } from './request-limiters.js';
import type { SecretMasker } from '../masking/secret-masker.js';

/** Octokit with the plugins Shipgate relies on; `forInstallation` returns instances of it. */
export const ShipgateOctokit = OctokitCore.plugin(githubRetryPlugin, throttling, maskOutgoingTextPlugin);
export type GithubOctokit = InstanceType<typeof ShipgateOctokit>;

export interface GithubAppOptions {
  appId: string | number;
  /** PEM (PKCS#1 or PKCS#8). Never logged. */
  privateKey: string;
  /** REST base URL: `https://api.github.com`, `https://ghe.example/api/v3`, or a test stand-in. */
  apiUrl: string;
  logger: Logger;
  /** Deadline for each HTTP attempt, body included. @defaultValue 10_000 */
  requestTimeoutMs?: number;
  /** Retries for 5xx, network errors and timeouts. @defaultValue 3 */
  retries?: number;
  /** Unit of the quadratic retry backoff and of GitHub's `retry-after`. Tests shrink it. @defaultValue 1000 */
  retryAfterBaseMs?: number;
  /** How often one request may wait out a rate limit before failing as retryable. @defaultValue 2 */
  maxRateLimitRetries?: number;
  /** Longest single rate-limit wait; longer waits fail fast so the job backs off instead of holding a worker. @defaultValue 60 */
  maxRateLimitWaitSeconds?: number;
  /**
   * Pace content-creating requests (POST, PATCH, PUT, DELETE) as GitHub asks of integrators,
   * to stay clear of its secondary rate limits: after a burst of `writeBurst`, one a second.
   * Tests turn it off. @defaultValue true
   */
  spaceWrites?: boolean;
  /**
   * Writes let through at once, per installation, before the one-a-second pace applies;
   * refilled one a second. A release makes 11 writes and a PR run 7 (check runs, a deployment
   * and its statuses), so one run after a quiet spell is never held back, while a burst of
   * runs still averages one write a second. With 15, no minute exceeds GitHub's 80
   * content-generating requests (15 + 60 = 75). @defaultValue 15
   */
  writeBurst?: number;
  /** @defaultValue `shipgate` */
  userAgent?: string;
  /**
   * Masks check-run output, comments and status descriptions before they are sent: pass
   * `createSecretMasker(configSecrets(config))`. @defaultValue token shapes only
   */
  outgoingTextMasker?: SecretMasker;
}

export interface InstallationToken {
  /** Secret: for git over HTTPS only (via GIT_ASKPASS or a credential helper). Never log it. */
  token: string;
  /** ISO 8601. GitHub tokens live one hour; @octokit/auth-app re-mints after 59 minutes. */
  expiresAt: string;
}

export interface GithubApp {
  /** The App-authenticated (JWT) Octokit, for `/app/...` routes. */
  readonly appOctokit: GithubOctokit;
  /** An installation-authenticated Octokit. Tokens are minted on first use and cached by the App. */
  forInstallation(installationId: number): Promise<GithubOctokit>;
  /** A token for git over HTTPS, optionally narrowed to some repository names (no owner). */
  getInstallationToken(
    installationId: number,
    options?: { repositories?: string[] },
  ): Promise<InstallationToken>;
  /** `GET /repos/{owner}/{repo}/installation`: which installation covers a repository. */
  findRepoInstallation(owner: string, repo: string): Promise<number>;
}

/**
 * GitHub's guidance for writes, which this pacing follows:
 * - "Best practices for using the REST API", *Pause between mutative requests*: when making a
 *   large number of POST, PATCH, PUT or DELETE requests, wait at least one second between them
 *   (https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api); the older text
 *   of that guide scoped it "for a single user or client ID".
 * - "Rate limits for the REST API", *secondary rate limits*: in general no more than 80
 *   content-generating requests a minute and 500 an hour
 *   (https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api).
 * - An installation token is its own actor, with its own primary rate limit ("Rate limits for
 *   GitHub Apps": the installation's rate limit of 5,000 requests an hour and up).
 *
 * So the budget is kept per installation (the plugin keys it by `throttle.id`, which
 * `installationScoped` sets): one busy installation no longer holds back another's check runs.
 * The plugin's own write group spaces every write a full second apart, so a run's dozen writes
 * took a dozen seconds; a token bucket keeps the one-a-second average and lets one run's writes
 * through at once. In any minute it lets through at most `burst` + 60 writes (75 with the
 * default 15: under 80). It is per process: several worker processes on one installation share
 * nothing (the plugin's Redis clustering would).
 *
 * No hourly bucket for the 500: paced ahead of time (100, then one every 9 s) it turned every
 * busy hour into minute-long waits per release (the fault soak fell from 36 to 13 releases a
 * minute and gave one up). GitHub answers an hour's overrun with a secondary-limit 403/429 and
 * `retry-after`, which the throttling plugin waits out and retries (`onSecondaryRateLimit`).
 *
 * Beside the write budget, the plugin's other limits as its own defaults set them
 * (`octokit-global`, `-auth`, `-search`, `-notifications`), all on Shipgate's limiters
 * (`request-limiters.ts`: Bottleneck's rules without its cost) and kept per installation.
 */
function requestLimits(options: { spaceWrites: boolean; writeBurst: number }) {
  return {
    global: concurrencyGroup(10),
    auth: concurrencyGroup(1),
    search: concurrencyGroup(1, 2_000),
    ...(options.spaceWrites
      ? { write: tokenBucketGroup(options.writeBurst, 1_000), notifications: concurrencyGroup(1, 3_000) }
      : { write: unlimitedGroup, notifications: unlimitedGroup }),
  };
}

/** The throttling plugin's budget key for an Octokit: its installation, or the App itself. */
function installationScoped(base: Record<string, unknown>, throttle: Record<string, unknown>) {
  return (options: Record<string, unknown>) => {
    const installationId = (options.auth as { installationId?: unknown } | undefined)?.installationId;
    return {
      ...base,
      ...options,
      throttle: {
        ...throttle,
        id: installationId === undefined ? 'app' : `installation:${String(installationId)}`,
        // Per Octokit: the plugin adds its rate-limit handler to it once per instance.
        retryLimiter: new RetryingLimiter(),
      },
    };
  };
}

export function createGithubApp(options: GithubAppOptions): GithubApp {
  const {
    appId,
    privateKey,
    apiUrl,
    requestTimeoutMs = 10_000,
    retries = 3,
    retryAfterBaseMs = 1000,
    maxRateLimitRetries = 2,
    maxRateLimitWaitSeconds = 60,
    spaceWrites = true,
    writeBurst = 15,
    userAgent = 'shipgate',
  } = options;
  const logger = options.logger.child({ component: 'github' });

  const waitOnLimit =
    (kind: string) =>
    (retryAfter: number, request: { method?: string; url?: string }, _o: unknown, retryCount: number) => {
      const retry = retryCount < maxRateLimitRetries && retryAfter <= maxRateLimitWaitSeconds;
      logger.warn(
        { kind, retryAfter, retryCount, method: request.method, route: request.url, retry },
        'GitHub rate limit',
      );
      return retry;
    };

  const throttle = {
    retryAfterBaseValue: retryAfterBaseMs,
    onRateLimit: waitOnLimit('primary'),
    onSecondaryRateLimit: waitOnLimit('secondary'),
    // The plugin only calls `key(id).schedule(...)` and `schedule`/`on('failed')` on these; the
    // cast is for its Bottleneck types.
    ...(requestLimits({ spaceWrites, writeBurst }) as unknown as Pick<ThrottlingOptions, 'write'>),
  };
  const Octokit = ShipgateOctokit.defaults(
    installationScoped(
      {
        baseUrl: apiUrl.replace(/\/+$/, ''),
        userAgent,
        request: { fetch: fetchWithTimeout(requestTimeoutMs) },
        retry: { retries, retryAfterBaseValue: retryAfterBaseMs },
        log: octokitLog(logger),
        ...(options.outgoingTextMasker ? { outgoingTextMasker: options.outgoingTextMasker } : {}),
      },
      throttle,
    ),
  );

  const app = new App({ appId, privateKey, Octokit, log: octokitLog(logger) });
  const appOctokit = app.octokit as GithubOctokit;
  logRequests(appOctokit, logger);

  return {
    appOctokit,
    async forInstallation(installationId) {
      const octokit = (await app.getInstallationOctokit(installationId)) as GithubOctokit;
      logRequests(octokit, logger);
      return octokit;
    },
    async getInstallationToken(installationId, { repositories } = {}) {
      const auth = (await callGithub('POST /app/installations/{installation_id}/access_tokens', () =>
        app.octokit.auth({
          type: 'installation',
          installationId,
          ...(repositories ? { repositoryNames: repositories } : {}),
        }),
      )) as { token: string; expiresAt: string };
      return { token: auth.token, expiresAt: auth.expiresAt };
    },
    async findRepoInstallation(owner, repo) {
      const { data } = await callGithub('GET /repos/{owner}/{repo}/installation', () =>
        appOctokit.request('GET /repos/{owner}/{repo}/installation', { owner, repo }),
      );
      return data.id;
    },
  };
}

/** Octokit's logger interface on top of pino; only the message travels, never the extra object. */
function octokitLog(logger: Logger) {
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: unknown): void => {
      logger[level](scrubSecrets(String(message)));
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** One debug line per HTTP exchange: method, route, status, time, GitHub's request id. No headers. */
function logRequests(octokit: GithubOctokit, logger: Logger): void {
  octokit.hook.wrap('request', async (request, options) => {
    const started = performance.now();
    const route = `${options.method} ${String(options.url)}`;
    const delivery = (options.headers as Record<string, unknown>)['x-github-delivery'];
    try {
      const response = await request(options);
      logger.debug(
        {
          route,
          status: response.status,
          ms: Math.round(performance.now() - started),
          githubRequestId: response.headers['x-github-request-id'],
          delivery,
        },
        'github request',
      );
      return response;
    } catch (err) {
      const status = (err as { status?: number }).status;
      logger.debug(
        { route, status, ms: Math.round(performance.now() - started), delivery },
        'github request failed',
      );
      throw err;
    }
  });
}
