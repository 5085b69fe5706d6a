/**
 * The one error catalogue. Every error Shipgate raises on purpose has a stable `code`
 * (users and tests match on it), an HTTP status (used when it reaches the edge) and a
 * `retryable` flag (workers use it to decide between a BullMQ retry and an
 * UnrecoverableError). Add new codes in the section of the module that raises them.
 */

export interface ShipgateErrorOptions {
  cause?: unknown;
  /** Structured, secret-free details for logs and API answers. */
  details?: Record<string, unknown>;
}

export class ShipgateError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: string,
    message: string,
    statusCode: number,
    retryable: boolean,
    options: ShipgateErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ShipgateError';
    this.code = code;
    this.statusCode = statusCode;
    this.retryable = retryable;
    this.details = options.details;
  }
}

export interface ErrorFactory<Args extends unknown[]> {
  (...args: [...Args, ShipgateErrorOptions?]): ShipgateError;
  readonly code: string;
  readonly statusCode: number;
  readonly retryable: boolean;
  /** True when `err` was made by this factory. */
  is(err: unknown): err is ShipgateError;
}

/**
 * Makes a factory for one catalogue entry, in the spirit of `@fastify/error`:
 * `const E = defineError('SHIPGATE_E_X', 400, false, (name: string) => \`bad ${name}\`)`.
 */
export function defineError<Args extends unknown[]>(
  code: string,
  statusCode: number,
  retryable: boolean,
  message: (...args: Args) => string,
): ErrorFactory<Args> {
  const factory = (...args: [...Args, ShipgateErrorOptions?]): ShipgateError => {
    const last = args[args.length - 1];
    const hasOptions = args.length > message.length && typeof last === 'object' && last !== null;
    const messageArgs = (hasOptions ? args.slice(0, -1) : args) as unknown as Args;
    const options = (hasOptions ? last : {}) as ShipgateErrorOptions;
    return new ShipgateError(code, message(...messageArgs), statusCode, retryable, options);
  };
  return Object.assign(factory, {
    code,
    statusCode,
    retryable,
    is: (err: unknown): err is ShipgateError => err instanceof ShipgateError && err.code === code,
  });
}

export function isShipgateError(err: unknown): err is ShipgateError {
  return err instanceof ShipgateError;
}

/** True when an operation that failed with `err` may be tried again. Unknown errors are retryable. */
export function isRetryable(err: unknown): boolean {
  return err instanceof ShipgateError ? err.retryable : true;
}

// ── config ──────────────────────────────────────────────────────────────────
export const ConfigInvalid = defineError(
  'SHIPGATE_E_CONFIG_INVALID',
  500,
  false,
  (variable: string, reason: string) => `${variable}: ${reason}`,
);

// ── redis and queues ────────────────────────────────────────────────────────
/** REDIS_URL (or REDIS_CLUSTER_NODES) cannot be used; the message never holds a password. */
export const RedisUrlInvalid = defineError(
  'SHIPGATE_E_REDIS_URL_INVALID',
  500,
  false,
  (reason: string) => reason,
);
export const RedisUnavailable = defineError(
  'SHIPGATE_E_REDIS_UNAVAILABLE',
  503,
  true,
  (reason: string) => `Redis is unavailable: ${reason}`,
);
export const RedisNotInstalled = defineError(
  'SHIPGATE_E_REDIS_NOT_INSTALLED',
  500,
  false,
  () =>
    'REDIS_URL is not set and no redis-server is on PATH. Install one (apt-get install redis-server, ' +
    'brew install redis, or docker run -p 6379:6379 redis:7) or set REDIS_URL.',
);
export const RedisStartFailed = defineError(
  'SHIPGATE_E_REDIS_START_FAILED',
  500,
  false,
  (reason: string) => `the embedded redis-server did not start: ${reason}`,
);

// ── webhooks (ingress) ──────────────────────────────────────────────────────
export const WebhookSignatureInvalid = defineError(
  'SHIPGATE_E_WEBHOOK_SIGNATURE',
  401,
  false,
  () => 'missing or invalid X-Hub-Signature-256',
);
export const WebhookHeaderMissing = defineError(
  'SHIPGATE_E_WEBHOOK_HEADER_MISSING',
  400,
  false,
  (header: string) => `missing ${header} header`,
);
export const WebhookHeaderInvalid = defineError(
  'SHIPGATE_E_WEBHOOK_HEADER_INVALID',
  400,
  false,
  (header: string) => `malformed ${header} header`,
);
export const WebhookPayloadInvalid = defineError(
  'SHIPGATE_E_WEBHOOK_PAYLOAD_INVALID',
  400,
  false,
  (reason: string) => `invalid webhook payload: ${reason}`,
);
export const WebhookBodyTooLarge = defineError(
  'SHIPGATE_E_WEBHOOK_BODY_TOO_LARGE',
  413,
  false,
  (limitBytes: number) => `webhook body is larger than ${limitBytes} bytes`,
);
export const WebhookContentTypeUnsupported = defineError(
  'SHIPGATE_E_WEBHOOK_CONTENT_TYPE',
  415,
  false,
  () => 'content type must be application/json or application/x-www-form-urlencoded',
);
export const WebhookEnqueueTimeout = defineError(
  'SHIPGATE_E_WEBHOOK_ENQUEUE_TIMEOUT',
  503,
  true,
  (timeoutMs: number) =>
    `the webhook was not queued within ${timeoutMs} ms; GitHub will record a failed delivery`,
);
/** Past the byte budget of large bodies being read at once: refused before the body is read. */
export const WebhookBodiesBusy = defineError(
  'SHIPGATE_E_WEBHOOK_BODIES_BUSY',
  503,
  true,
  () => 'too many large webhook bodies are being received; retry later',
);
export const RedeliveryRequestFailed = defineError(
  'SHIPGATE_E_REDELIVERY_REQUEST_FAILED',
  502,
  true,
  (what: string, status: number | string) => `GitHub ${what} failed (${status})`,
);

// ── http api ────────────────────────────────────────────────────────────────
export const Unauthorized = defineError(
  'SHIPGATE_E_UNAUTHORIZED',
  401,
  false,
  () => 'missing or invalid bearer token',
);
export const NotFound = defineError(
  'SHIPGATE_E_NOT_FOUND',
  404,
  false,
  (what: string) => `${what} not found`,
);
export const ApiTokenNotConfigured = defineError(
  'SHIPGATE_E_API_TOKEN_NOT_CONFIGURED',
  503,
  false,
  () => 'the HTTP API is disabled: set SHIPGATE_API_TOKEN to enable it',
);
export const RateLimited = defineError(
  'SHIPGATE_E_RATE_LIMITED',
  429,
  true,
  (retryAfterSeconds: number) => `too many requests; retry in ${retryAfterSeconds} s`,
);
export const BadRequest = defineError('SHIPGATE_E_BAD_REQUEST', 400, false, (reason: string) => reason);
export const InternalError = defineError('SHIPGATE_E_INTERNAL', 500, true, () => 'internal error');

// ── console: identity and access ────────────────────────────────────────────
/** Authenticated, but the policy or the token's scope does not allow this. */
export const Forbidden = defineError('SHIPGATE_E_FORBIDDEN', 403, false, (reason: string) => reason);
/** A state-changing request made with the session cookie but without its CSRF token. */
export const CsrfRejected = defineError(
  'SHIPGATE_E_CSRF',
  403,
  false,
  () => 'missing or wrong x-csrf-token header for this session',
);
export const ConsoleLoginDisabled = defineError(
  'SHIPGATE_E_CONSOLE_LOGIN_DISABLED',
  404,
  false,
  () =>
    'console sign-in is off: set SHIPGATE_PUBLIC_URL, GITHUB_OAUTH_CLIENT_ID, GITHUB_OAUTH_CLIENT_SECRET and SHIPGATE_SESSION_SECRET',
);
export const OAuthStateInvalid = defineError(
  'SHIPGATE_E_OAUTH_STATE',
  400,
  false,
  () => 'the sign-in attempt is unknown or expired: start again at /auth/login',
);
export const OAuthFailed = defineError(
  'SHIPGATE_E_OAUTH_FAILED',
  502,
  true,
  (what: string) => `GitHub sign-in failed: ${what}`,
);
/** The RBAC policy (access section of the env repo policy) could not be read. */
export const AccessPolicyUnavailable = defineError(
  'SHIPGATE_E_ACCESS_POLICY_UNAVAILABLE',
  503,
  true,
  (reason: string) => `the platform policy could not be read to decide access: ${reason}`,
);
export const RollbackFrozen = defineError(
  'SHIPGATE_E_ROLLBACK_FROZEN',
  409,
  false,
  (env: string, until: string, reason: string) =>
    `${env} is frozen until ${until} (${reason}); a rollback now needs breakGlass: { reason } (at least 10 characters)`,
);
export const TokenNameTaken = defineError(
  'SHIPGATE_E_TOKEN_NAME_TAKEN',
  409,
  false,
  (name: string) => `an API token named ${name} exists; revoke it first or pick another name`,
);

// ── github ──────────────────────────────────────────────────────────────────
/** 5xx, network errors and timeouts: GitHub (or the path to it) is having a bad moment. */
export const GithubUnavailable = defineError(
  'SHIPGATE_E_GITHUB_UNAVAILABLE',
  502,
  true,
  (operation: string, reason: string) => `GitHub API unavailable during ${operation}: ${reason}`,
);
/** Primary or secondary rate limit that outlasted the client's bounded waiting. */
export const GithubRateLimited = defineError(
  'SHIPGATE_E_GITHUB_RATE_LIMITED',
  503,
  true,
  (operation: string, reason: string) => `GitHub rate limit during ${operation}: ${reason}`,
);
/** 401, or a 403 that is not a rate limit: wrong App id/key, uninstalled App, missing permission. */
export const GithubAuthFailed = defineError(
  'SHIPGATE_E_GITHUB_AUTH',
  502,
  false,
  (operation: string, status: number, message: string) =>
    `GitHub refused ${operation} (${status}): ${message}. Check GITHUB_APP_ID, the private key, ` +
    `that the App is installed on the repository, and the App's permissions`,
);
export const GithubNotFound = defineError(
  'SHIPGATE_E_GITHUB_NOT_FOUND',
  502,
  false,
  (operation: string, message: string) => `GitHub answered 404 to ${operation}: ${message}`,
);
/** 400, 409, 422 and other 4xx: the request itself is wrong; repeating it cannot help. */
export const GithubRequestRejected = defineError(
  'SHIPGATE_E_GITHUB_REJECTED',
  502,
  false,
  (operation: string, status: number, message: string) =>
    `GitHub rejected ${operation} (${status}): ${message}`,
);
/** A 2xx whose body is not what GitHub documents (a proxy's HTML page, a truncated body). */
export const GithubResponseInvalid = defineError(
  'SHIPGATE_E_GITHUB_RESPONSE_INVALID',
  502,
  true,
  (operation: string, reason: string) => `unexpected GitHub response to ${operation}: ${reason}`,
);
export const GithubFileTooLarge = defineError(
  'SHIPGATE_E_GITHUB_FILE_TOO_LARGE',
  413,
  false,
  (path: string, size: number, maxBytes: number) =>
    `${path} is ${size} bytes, over the limit of ${maxBytes} bytes`,
);
export const GithubFileUnreadable = defineError(
  'SHIPGATE_E_GITHUB_FILE_UNREADABLE',
  422,
  false,
  (path: string, reason: string) => `${path} cannot be read: ${reason}`,
);
/** Shipgate built a request GitHub would refuse (for example an annotation without a path). */
export const GithubInvalidInput = defineError(
  'SHIPGATE_E_GITHUB_INVALID_INPUT',
  500,
  false,
  (operation: string, reason: string) => `invalid input for ${operation}: ${reason}`,
);

// ── pipeline (.shipgate.yml) and policy ─────────────────────────────────────
/** Untrusted YAML refused by `parseYamlSafely` (syntax, size, alias bomb). `details.issues` holds the list. */
export const YamlInvalid = defineError(
  'SHIPGATE_E_YAML_INVALID',
  422,
  false,
  (what: string, reason: string) => `${what} is not acceptable YAML: ${reason}`,
);
/** `.shipgate.yml` failed validation; `details.issues` holds the `ConfigIssue[]`. */
export const PipelineConfigInvalid = defineError(
  'SHIPGATE_E_PIPELINE_CONFIG_INVALID',
  422,
  false,
  (file: string, problems: number) => `${file} is invalid (${problems} problem${problems === 1 ? '' : 's'})`,
);
/** The env repo's policy file failed validation; `details.issues` holds the `ConfigIssue[]`. */
export const PolicyInvalid = defineError(
  'SHIPGATE_E_POLICY_INVALID',
  500,
  false,
  (file: string, commit: string, problems: number) =>
    `the platform policy ${file} at ${commit.slice(0, 12)} is invalid (${problems} problem${problems === 1 ? '' : 's'})`,
);
export const PolicyMissing = defineError(
  'SHIPGATE_E_POLICY_MISSING',
  500,
  false,
  (file: string, commit: string) => `the environment repo has no ${file} at ${commit.slice(0, 12)}`,
);
export const PolicyEnvironmentUnknown = defineError(
  'SHIPGATE_E_POLICY_ENVIRONMENT_UNKNOWN',
  404,
  false,
  (environment: string) => `the platform policy has no environment "${environment}"`,
);
export const CommitShaInvalid = defineError(
  'SHIPGATE_E_COMMIT_SHA_INVALID',
  400,
  false,
  (value: string) => `not a full git commit sha: ${JSON.stringify(value.slice(0, 80))}`,
);
export const ImageTagInvalid = defineError(
  'SHIPGATE_E_IMAGE_TAG_INVALID',
  422,
  false,
  (tag: string, reason: string) =>
    `cannot make an image tag from ${JSON.stringify(tag.slice(0, 140))}: ${reason}`,
);

// ── runs ────────────────────────────────────────────────────────────────────
export const RunNotFound = defineError(
  'SHIPGATE_E_RUN_NOT_FOUND',
  404,
  false,
  (runId: string) => `run ${runId} not found (unknown, or expired after the retention period)`,
);
export const RunInputInvalid = defineError(
  'SHIPGATE_E_RUN_INPUT_INVALID',
  400,
  false,
  (reason: string) => `invalid run input: ${reason}`,
);
export const RunsQueryInvalid = defineError(
  'SHIPGATE_E_RUNS_QUERY_INVALID',
  400,
  false,
  (reason: string) => `invalid runs query: ${reason}`,
);
export const RunRecordCorrupt = defineError(
  'SHIPGATE_E_RUN_RECORD_CORRUPT',
  500,
  false,
  (runId: string, reason: string) => `stored run ${runId} does not parse: ${reason}`,
);
export const RunUpdateConflict = defineError(
  'SHIPGATE_E_RUN_UPDATE_CONFLICT',
  409,
  true,
  (runId: string, attempts: number) => `run ${runId} kept changing; gave up after ${attempts} attempts`,
);

// ── executors and gates ─────────────────────────────────────────────────────
export const ExecutionSpecInvalid = defineError(
  'SHIPGATE_E_EXECUTION_SPEC_INVALID',
  400,
  false,
  (reason: string) => `invalid execution spec: ${reason}`,
);
/** Cloning the source failed: network, auth, or the sha is not on the remote. */
export const CheckoutFailed = defineError(
  'SHIPGATE_E_CHECKOUT_FAILED',
  502,
  true,
  (repo: string, sha: string, reason: string) => `cannot check out ${repo} at ${sha}: ${reason}`,
);
/** The executor itself failed (spawn, temp dir, Kubernetes API) — not the gate command. */
export const ExecutorFailed = defineError(
  'SHIPGATE_E_EXECUTOR_FAILED',
  503,
  true,
  (executor: string, reason: string) => `${executor} executor failed: ${reason}`,
);
/** `local` runs gates only in a bubblewrap sandbox; this host cannot make one. */
export const SandboxUnavailable = defineError(
  'SHIPGATE_E_SANDBOX_UNAVAILABLE',
  503,
  false,
  (reason: string) =>
    `the local executor runs gates only in a sandbox, and none is available: ${reason}; install bubblewrap, use SHIPGATE_EXECUTOR=kubernetes, or accept the risk with SHIPGATE_EXECUTOR=local-unsandboxed`,
);
export const ReportInvalid = defineError(
  'SHIPGATE_E_REPORT_INVALID',
  422,
  false,
  (report: string, reason: string) => `${report} report is invalid: ${reason}`,
);
export const ReportTooLarge = defineError(
  'SHIPGATE_E_REPORT_TOO_LARGE',
  413,
  false,
  (report: string, limitBytes: number) => `${report} report is larger than ${limitBytes} bytes`,
);

// ── gitops writer ───────────────────────────────────────────────────────────
export const GitCommandFailed = defineError(
  'SHIPGATE_E_GIT_COMMAND_FAILED',
  502,
  true,
  (command: string, reason: string) => `git ${command} failed: ${reason}`,
);
export const GitTimeout = defineError(
  'SHIPGATE_E_GIT_TIMEOUT',
  504,
  true,
  (command: string, ms: number) => `git ${command} timed out after ${ms} ms`,
);
export const GitAuthFailed = defineError(
  'SHIPGATE_E_GIT_AUTH_FAILED',
  502,
  false,
  (remote: string) => `the env repo ${remote} refused the credentials (check the GitHub App's access)`,
);
export const GitopsPathUnsafe = defineError(
  'SHIPGATE_E_GITOPS_PATH_UNSAFE',
  400,
  false,
  (path: string, reason: string) => `unsafe path ${JSON.stringify(path)}: ${reason}`,
);
export const GitopsSourceTooLarge = defineError(
  'SHIPGATE_E_GITOPS_SOURCE_TOO_LARGE',
  413,
  false,
  (what: string, limit: string) => `${what} exceeds the limit of ${limit}`,
);
export const GitopsRenderFailed = defineError(
  'SHIPGATE_E_GITOPS_RENDER_FAILED',
  422,
  false,
  (source: string, reason: string) => `rendering ${source} failed: ${reason}`,
);
export const GitopsRenderTimeout = defineError(
  'SHIPGATE_E_GITOPS_RENDER_TIMEOUT',
  504,
  true,
  (source: string, ms: number) => `rendering ${source} timed out after ${ms} ms`,
);
export const GitopsKustomizeMissing = defineError(
  'SHIPGATE_E_GITOPS_KUSTOMIZE_MISSING',
  500,
  false,
  () => 'neither kustomize nor kubectl is on PATH; install one of them to render kustomize overlays',
);
export const GitopsManifestsInvalid = defineError(
  'SHIPGATE_E_GITOPS_MANIFESTS_INVALID',
  422,
  false,
  (count: number, first: string) => `${count} manifest error(s); first: ${first}`,
);
export const GitopsPushConflict = defineError(
  'SHIPGATE_E_GITOPS_PUSH_CONFLICT',
  409,
  true,
  (branch: string, attempts: number) =>
    `push to ${branch} was still rejected as non-fast-forward after ${attempts} attempts`,
);
/** Too many Shipgate writers queued for one env-repo branch; the job tries again later. */
export const EnvRepoWriteBusy = defineError(
  'SHIPGATE_E_ENV_REPO_WRITE_BUSY',
  409,
  true,
  (branch: string, waitedMs: number) =>
    `waited ${Math.round(waitedMs / 1000)} s for a turn to write ${branch} of the env repo; trying again later`,
);
export const GitopsPushRefused = defineError(
  'SHIPGATE_E_GITOPS_PUSH_REFUSED',
  403,
  false,
  (branch: string, reason: string) =>
    `the env repo refused the push to ${branch}: ${reason} (a protected branch needs PR mode)`,
);
export const GitopsPullRequestClosed = defineError(
  'SHIPGATE_E_GITOPS_PR_CLOSED',
  409,
  false,
  (number: number) => `env-repo pull request #${number} was closed without merging`,
);
export const GitopsPullRequestTimeout = defineError(
  'SHIPGATE_E_GITOPS_PR_TIMEOUT',
  504,
  true,
  (number: number, ms: number) => `env-repo pull request #${number} was not merged within ${ms} ms`,
);
export const GitopsRevertTargetMissing = defineError(
  'SHIPGATE_E_GITOPS_REVERT_TARGET_MISSING',
  404,
  false,
  (what: string) => `cannot revert: ${what}`,
);
export const GitopsRequestInvalid = defineError(
  'SHIPGATE_E_GITOPS_REQUEST_INVALID',
  400,
  false,
  (reason: string) => `invalid gitops request: ${reason}`,
);

// ── argo cd and deploy ──────────────────────────────────────────────────────
/** Network error, timeout or 5xx from Argo CD, after the client's own bounded retries. */
export const ArgoCdUnavailable = defineError(
  'SHIPGATE_E_ARGOCD_UNAVAILABLE',
  503,
  true,
  (operation: string, reason: string) => `Argo CD is unavailable (${operation}): ${reason}`,
);
/** 401/403: a bad or under-privileged ARGOCD_TOKEN. Retrying will not help. */
export const ArgoCdUnauthorized = defineError(
  'SHIPGATE_E_ARGOCD_UNAUTHORIZED',
  502,
  false,
  (operation: string, status: number) =>
    `Argo CD refused ${operation} (HTTP ${status}): check ARGOCD_TOKEN and the account's RBAC`,
);
export const ArgoCdNotFound = defineError(
  'SHIPGATE_E_ARGOCD_NOT_FOUND',
  404,
  false,
  (what: string) => `Argo CD has no ${what}`,
);
/** Any other 4xx: Argo CD understood and said no (invalid revision, unknown action, …). */
export const ArgoCdRejected = defineError(
  'SHIPGATE_E_ARGOCD_REJECTED',
  502,
  false,
  (operation: string, status: number, message: string) =>
    `Argo CD rejected ${operation} (HTTP ${status}): ${message}`,
);
/** Another sync (not ours) is running; it will end, so the caller may try again. */
export const ArgoCdOperationInProgress = defineError(
  'SHIPGATE_E_ARGOCD_OPERATION_IN_PROGRESS',
  409,
  true,
  (operation: string) => `${operation}: another operation is already in progress`,
);
/** The TLS handshake failed (unknown CA, wrong host name): a configuration problem, not an outage. */
export const ArgoCdTlsFailed = defineError(
  'SHIPGATE_E_ARGOCD_TLS',
  502,
  false,
  (reason: string) =>
    `TLS to Argo CD failed: ${reason} (set ARGOCD_CA_FILE to the server's CA; ARGOCD_INSECURE=true only for development)`,
);
export const ArgoCdResponseInvalid = defineError(
  'SHIPGATE_E_ARGOCD_RESPONSE_INVALID',
  502,
  false,
  (operation: string, reason: string) => `Argo CD answered ${operation} with an unexpected body: ${reason}`,
);
export const KubeWatchFailed = defineError(
  'SHIPGATE_E_KUBE_WATCH_FAILED',
  503,
  true,
  (what: string, reason: string) => `cannot watch ${what} through the Kubernetes API: ${reason}`,
);
export const DeployInputInvalid = defineError(
  'SHIPGATE_E_DEPLOY_INPUT_INVALID',
  400,
  false,
  (reason: string) => `invalid deploy input: ${reason}`,
);
/** Sync to the new (or revert) revision did not finish in time: retrying the job re-checks it. */
export const DeploySyncTimeout = defineError(
  'SHIPGATE_E_DEPLOY_SYNC_TIMEOUT',
  504,
  true,
  (application: string, revision: string) =>
    `Argo CD application ${application} did not sync to ${revision} in time`,
);
export const DeployCancelled = defineError(
  'SHIPGATE_E_DEPLOY_CANCELLED',
  499,
  true,
  () => 'the deploy was cancelled (worker shutting down); a retry resumes where it stopped',
);
/** The deploy lock's lease could not be renewed: another deploy may own the environment now. */
export const DeployLeaseLost = defineError(
  'SHIPGATE_E_DEPLOY_LEASE_LOST',
  409,
  true,
  (app: string, env: string, why: string) =>
    `lost the deploy lock of ${app} in ${env} (${why}); stopped before any further commit or Argo CD call`,
);
/** A deploy step ran past its timeout. Retryable: the step ledger resumes at the same step. */
export const DeployStepTimeout = defineError(
  'SHIPGATE_E_DEPLOY_STEP_TIMEOUT',
  504,
  true,
  (step: string, ms: number) => `deploy step ${step} did not finish within ${Math.round(ms / 1000)}s`,
);
/** Preflight: Argo CD or the cluster cannot be reached, so nothing is committed yet. */
export const DeployPreflightFailed = defineError(
  'SHIPGATE_E_DEPLOY_PREFLIGHT_FAILED',
  503,
  true,
  (what: string) => `deploy preflight failed, nothing committed: ${what}`,
);
export const RollbackTargetNotFound = defineError(
  'SHIPGATE_E_ROLLBACK_TARGET_NOT_FOUND',
  404,
  false,
  (reason: string) => `no commit to roll back to: ${reason}`,
);

// ── slack and approvals ─────────────────────────────────────────────────────
export const SlackSignatureInvalid = defineError(
  'SHIPGATE_E_SLACK_SIGNATURE',
  401,
  false,
  (reason: string) => `missing or invalid X-Slack-Signature: ${reason}`,
);
export const SlackTimestampStale = defineError(
  'SHIPGATE_E_SLACK_TIMESTAMP',
  401,
  false,
  () => 'X-Slack-Request-Timestamp is missing or outside the 5-minute window',
);
export const SlackRequestReplayed = defineError(
  'SHIPGATE_E_SLACK_REPLAY',
  409,
  false,
  () => 'this signed Slack request was already received',
);
export const SlackPayloadInvalid = defineError(
  'SHIPGATE_E_SLACK_PAYLOAD_INVALID',
  400,
  false,
  (reason: string) => `invalid Slack interaction payload: ${reason}`,
);
export const SlackTeamNotAllowed = defineError(
  'SHIPGATE_E_SLACK_TEAM',
  403,
  false,
  () => 'the Slack workspace of this request is not allowed',
);
export const SlackEnqueueFailed = defineError(
  'SHIPGATE_E_SLACK_ENQUEUE',
  503,
  true,
  (reason: string) => `could not queue the Slack interaction: ${reason}`,
);
/** A Slack Web API call that may succeed later: network error, 5xx, timeout, rate limit. */
export const SlackApiUnavailable = defineError(
  'SHIPGATE_E_SLACK_UNAVAILABLE',
  502,
  true,
  (method: string, reason: string) => `Slack ${method} failed: ${reason}`,
);
/** Slack answered `{ ok: false, error }` for a reason retrying will not fix (channel_not_found, invalid_auth…). */
export const SlackApiRejected = defineError(
  'SHIPGATE_E_SLACK_REJECTED',
  502,
  false,
  (method: string, error: string) => `Slack ${method} answered ${error}`,
);
export const SlackPostInProgress = defineError(
  'SHIPGATE_E_SLACK_POST_IN_PROGRESS',
  409,
  true,
  (key: string) => `another attempt is posting Slack message ${key}; try again shortly`,
);
export const ApprovalValueInvalid = defineError(
  'SHIPGATE_E_APPROVAL_VALUE_INVALID',
  400,
  false,
  (reason: string) => `invalid approval button value: ${reason}`,
);
export const ApprovalRequestClosed = defineError(
  'SHIPGATE_E_APPROVAL_CLOSED',
  409,
  false,
  (runId: string, env: string, status: string) => `approval for run ${runId} to ${env} is already ${status}`,
);
/** The API/CLI fallback: the platform policy refused this person's decision (not an approver, releaser, freeze). */
export const ApprovalRefused = defineError(
  'SHIPGATE_E_APPROVAL_REFUSED',
  403,
  false,
  (reason: string) => `approval refused: ${reason}`,
);
/** The API/CLI fallback: the run does not wait for an approval to that environment (anymore). */
export const ApprovalNotAwaited = defineError(
  'SHIPGATE_E_APPROVAL_NOT_AWAITED',
  409,
  false,
  (runId: string, env: string, state: string) =>
    `run ${runId} is not awaiting approval to ${env} (it is ${state})`,
);

// ── engine (release stages) ─────────────────────────────────────────────────
/** Another release of the app holds the environment: the deploy job is retried later (backoff). */
export const DeployLockBusy = defineError(
  'SHIPGATE_E_DEPLOY_LOCK_BUSY',
  409,
  true,
  (app: string, env: string, holder: string) =>
    `${app} in ${env} is being deployed by run ${holder}; waiting`,
);
export const DeployNotConfigured = defineError(
  'SHIPGATE_E_DEPLOY_NOT_CONFIGURED',
  500,
  false,
  (what: string) => `cannot deploy: ${what}`,
);
/** A manual rollback request that can never succeed as asked (bad app/env name or `to`). */
export const RollbackRequestInvalid = defineError(
  'SHIPGATE_E_ROLLBACK_REQUEST_INVALID',
  400,
  false,
  (reason: string) => `invalid rollback request: ${reason}`,
);
/** No repository's policy grant deploys this app to this environment, so nobody may roll it back. */
export const RollbackNotGranted = defineError(
  'SHIPGATE_E_ROLLBACK_NOT_GRANTED',
  404,
  false,
  (app: string, env: string, reason: string) => `cannot roll back ${app} in ${env}: ${reason}`,
);
/** What is live changed between the rollback request and its turn to deploy: ask again. */
export const RollbackLiveMoved = defineError(
  'SHIPGATE_E_ROLLBACK_LIVE_MOVED',
  409,
  false,
  (app: string, env: string, planned: string, live: string) =>
    `${app} in ${env} moved from ${planned.slice(0, 12)} to ${live.slice(0, 12)} since the rollback was requested; request it again`,
);
export const RunStartBusy = defineError(
  'SHIPGATE_E_RUN_START_BUSY',
  409,
  true,
  (runId: string) => `run ${runId} is being started by another delivery; retrying`,
);

// ── cli ─────────────────────────────────────────────────────────────────────
/** The CLI could not connect to the server's HTTP API (refused, reset, DNS, timeout). */
export const ApiUnreachable = defineError(
  'SHIPGATE_E_API_UNREACHABLE',
  503,
  true,
  (url: string) => `cannot reach Shipgate at ${url}: is \`shipgate serve\` (or \`start\`) running there?`,
);
/** The server's API answered with an error; the message is the server's own one-liner. */
export const ApiRequestFailed = defineError(
  'SHIPGATE_E_API_REQUEST_FAILED',
  502,
  false,
  (what: string, status: number, message: string) => `${what} failed (HTTP ${status}): ${message}`,
);
/** `listen` found the port taken. */
export const PortInUse = defineError(
  'SHIPGATE_E_PORT_IN_USE',
  500,
  false,
  (host: string, port: number) =>
    `port ${port} on ${host} is already in use: stop what listens there, or set PORT to a free port`,
);
/** `shipgate setup` could not turn GitHub's code into an App. */
export const AppManifestConversionFailed = defineError(
  'SHIPGATE_E_APP_MANIFEST_CONVERSION_FAILED',
  502,
  false,
  (status: number, reason: string) => `GitHub refused the App manifest code (HTTP ${status}): ${reason}`,
);
