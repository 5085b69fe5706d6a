import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigInvalid } from './errors.js';
import { SECRET_ADVICE, weakSecretReason } from './weak-secret.js';

/**
 * Service configuration: environment variables, validated once at start-up and frozen.
 * Nothing past start-up reads `process.env` for these. The names are a stable interface
 * (ARCHITECTURE.md, `.env.example`, the manifests and compose file all use them).
 */

export type ExecutorKind = 'local' | 'local-unsandboxed' | 'kubernetes';
export type GateNetwork = 'none' | 'egress';
export type Role = 'serve' | 'work' | 'start' | 'cli';

export interface GithubConfig {
  appId: string | undefined;
  /** PEM. Never logged: the logger redacts `privateKey` keys, and this object has a custom inspect. */
  privateKey: string | undefined;
  /** Every accepted webhook secret; the first one is the current one. */
  webhookSecrets: readonly string[];
  /** REST base URL, for GitHub Enterprise Server (`https://ghe.example/api/v3`) and tests. */
  apiUrl: string;
}

export interface Config {
  port: number;
  host: string;
  /** Unset: `shipgate start` launches an embedded redis-server. */
  redisUrl: string | undefined;
  /** BullMQ key prefix; tests use a fresh one each. @defaultValue `shipgate` */
  queuePrefix: string;
  /** Working folder for the embedded Redis, checkouts and caches. @defaultValue `./.shipgate` */
  dataDir: string;
  github: GithubConfig;
  /** Clone URL (`https://…`, `file://…`) or `owner/name` on the configured GitHub. */
  envRepo: string | undefined;
  slack: { botToken: string | undefined; signingSecret: string | undefined; apiUrl: string };
  argocd: {
    server: string | undefined;
    token: string | undefined;
    insecure: boolean;
    caFile: string | undefined;
  };
  kubeconfig: string | undefined;
  executor: ExecutorKind;
  /** Network a sandboxed local gate gets: `none` (loopback of its own) or `egress`. @defaultValue `none` */
  gateNetwork: GateNetwork;
  /** Namespace the Kubernetes executor runs gate Jobs in. @defaultValue `shipgate-gates` */
  gatesNamespace: string;
  apiToken: string | undefined;
  logLevel: string;
  /**
   * Which proxies in front of Shipgate to believe about the client address (fastify
   * `trustProxy`): a hop count, or the proxies' addresses and CIDRs. @defaultValue false
   */
  trustProxy: number | string[] | false;
  /** Days the audit trail keeps its entries. @defaultValue 400 */
  auditRetentionDays: number;
  /** Console sign-in with GitHub; undefined (off) unless all its variables are set. */
  console: ConsoleConfig | undefined;
}

export interface ConsoleConfig {
  /** Where browsers reach Shipgate, e.g. https://shipgate.example.com (no trailing slash). */
  publicUrl: string;
  /** GitHub's web host for the OAuth pages: https://github.com, or the GHES host. */
  githubWebUrl: string;
  oauthClientId: string;
  /** Never logged: this object has a custom inspect. */
  oauthClientSecret: string;
  /** Signs the session cookie (at least 32 characters). */
  sessionSecret: string;
  /** @defaultValue 12 */
  sessionTtlHours: number;
  /** True when publicUrl is https: the cookie then carries `Secure`. */
  secureCookies: boolean;
}

/**
 * Every environment variable Shipgate reads, with a one-line description. The compose file,
 * `.env.example` and the manifests are checked against this list in tests, so they cannot
 * name a variable the code does not know.
 */
export const CONFIG_VARIABLES = {
  PORT: 'HTTP port. Default 3000.',
  HOST: 'Listen address. Default 0.0.0.0.',
  REDIS_URL: 'redis:// or rediss:// URL. Unset: `shipgate start` runs an embedded redis-server.',
  SHIPGATE_QUEUE_PREFIX: 'BullMQ key prefix. Default shipgate.',
  SHIPGATE_DATA_DIR: 'Working folder (embedded Redis data, checkouts). Default ./.shipgate.',
  GITHUB_APP_ID: 'Numeric GitHub App ID. Required for work and start.',
  GITHUB_PRIVATE_KEY: 'GitHub App private key (PEM; literal \\n accepted).',
  GITHUB_PRIVATE_KEY_PATH: 'Path to the GitHub App private key file (instead of GITHUB_PRIVATE_KEY).',
  GITHUB_WEBHOOK_SECRET:
    'Webhook secret; required, at least 16 characters, no placeholder. A comma-separated list rotates secrets.',
  GITHUB_API_URL: 'GitHub REST base URL. Default https://api.github.com (GHES: https://HOST/api/v3).',
  ENV_REPO: 'Environment repo: owner/name, https:// or file:// clone URL.',
  SLACK_BOT_TOKEN: 'Slack bot token (xoxb-…).',
  SLACK_SIGNING_SECRET: 'Slack signing secret for /slack/interactions (at least 16 characters).',
  SLACK_API_URL: 'Slack Web API base URL. Default https://slack.com/api.',
  ARGOCD_SERVER: 'Argo CD server URL, e.g. https://argocd.example.com.',
  ARGOCD_TOKEN: 'Argo CD API token (project-scoped account). Required with ARGOCD_SERVER.',
  ARGOCD_INSECURE: 'true to skip TLS verification of Argo CD (development only).',
  ARGOCD_CA_FILE: 'PEM CA bundle for Argo CD.',
  KUBECONFIG:
    'Kubeconfig path; unset in a cluster means in-cluster config. Required with ARGOCD_SERVER (deploys watch Rollouts).',
  SHIPGATE_EXECUTOR:
    'local (default: a bubblewrap sandbox), kubernetes, or local-unsandboxed (no isolation; development only): where gates run.',
  SHIPGATE_GATE_NETWORK: 'none (default) or egress: the network a sandboxed local gate gets.',
  SHIPGATE_GATES_NAMESPACE: 'Namespace for gate Jobs with the kubernetes executor. Default shipgate-gates.',
  SHIPGATE_API_TOKEN: 'Bearer token for the HTTP API and CLI (at least 16 characters).',
  LOG_LEVEL: 'fatal, error, warn, info (default), debug, trace or silent.',
  SHIPGATE_TRUST_PROXY:
    'Proxies to trust for the client address (rate limits): a hop count, or a comma-separated list of IPs/CIDRs. Default none.',
  SHIPGATE_AUDIT_RETENTION_DAYS: 'Days the audit trail keeps decisions (1-3650). Default 400.',
  SHIPGATE_PUBLIC_URL:
    'Console: the URL browsers use to reach Shipgate (OAuth callback, Secure cookie when https). Console sign-in is on when this, GITHUB_OAUTH_CLIENT_ID, GITHUB_OAUTH_CLIENT_SECRET and SHIPGATE_SESSION_SECRET are all set.',
  GITHUB_OAUTH_CLIENT_ID: "Console: the GitHub App's OAuth client id.",
  GITHUB_OAUTH_CLIENT_SECRET: "Console: the GitHub App's OAuth client secret.",
  GITHUB_WEB_URL:
    'Console: GitHub web host for OAuth. Default: derived from GITHUB_API_URL (https://github.com, or the GHES host).',
  SHIPGATE_SESSION_SECRET: 'Console: signs session cookies (at least 32 characters).',
  SHIPGATE_SESSION_TTL_HOURS: 'Console: hours a sign-in lasts (1-720). Default 12.',
} as const;

export type ConfigVariable = keyof typeof CONFIG_VARIABLES;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Record<string, string | undefined>;

function optional(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function parseUrl(name: string, value: string, protocols: string[]): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw ConfigInvalid(name, `not a valid URL (got ${JSON.stringify(redactUrl(value))})`);
  }
  if (!protocols.includes(url.protocol)) {
    throw ConfigInvalid(name, `must use ${protocols.join(' or ')} (got ${url.protocol})`);
  }
  return value.replace(/\/+$/, '');
}

/** Keeps credentials in a URL out of error messages. */
function redactUrl(value: string): string {
  return value.replace(/\/\/[^@/]*@/, '//***@');
}

function parsePort(env: Env): number {
  const raw = optional(env, 'PORT') ?? '3000';
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw ConfigInvalid('PORT', `must be an integer from 0 to 65535 (got ${JSON.stringify(raw)})`);
  }
  return port;
}

function parseRetentionDays(env: Env): number {
  const raw = optional(env, 'SHIPGATE_AUDIT_RETENTION_DAYS') ?? '400';
  const days = Number(raw);
  if (!Number.isInteger(days) || days < 1 || days > 3650) {
    throw ConfigInvalid(
      'SHIPGATE_AUDIT_RETENTION_DAYS',
      `must be an integer from 1 to 3650 (got ${JSON.stringify(raw)})`,
    );
  }
  return days;
}

function parseWebhookSecrets(env: Env, role: Role): string[] {
  const raw = optional(env, 'GITHUB_WEBHOOK_SECRET');
  // Operator commands (approve, rollback, redeliver) verify no webhook, so they do not need it.
  if (raw === undefined && role === 'cli') return [];
  if (raw === undefined) {
    throw ConfigInvalid(
      'GITHUB_WEBHOOK_SECRET',
      'is required: Shipgate has no default webhook secret (set the secret you gave the GitHub App; a comma-separated list rotates secrets)',
    );
  }
  const secrets = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (secrets.length === 0) throw ConfigInvalid('GITHUB_WEBHOOK_SECRET', 'holds no secret');
  secrets.forEach((secret, i) => {
    const reason = weakSecretReason(secret);
    if (reason === undefined) return;
    // Name the entry by position: its value must not appear in any message.
    const which = secrets.length === 1 ? '' : `secret ${i + 1} of ${secrets.length} `;
    throw ConfigInvalid('GITHUB_WEBHOOK_SECRET', `${which}${reason}`);
  });
  return secrets;
}

/** A secret that is either unset or strong; a placeholder or a short value stops the start. */
function optionalSecret(env: Env, name: string): string | undefined {
  const value = optional(env, name);
  if (value === undefined) return undefined;
  const reason = weakSecretReason(value);
  if (reason !== undefined) throw ConfigInvalid(name, reason);
  return value;
}

function readPrivateKey(env: Env): string | undefined {
  const inline = optional(env, 'GITHUB_PRIVATE_KEY');
  const file = optional(env, 'GITHUB_PRIVATE_KEY_PATH');
  if (inline !== undefined && file !== undefined) {
    throw ConfigInvalid(
      'GITHUB_PRIVATE_KEY',
      'set either GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH, not both',
    );
  }
  let pem: string | undefined;
  let variable = 'GITHUB_PRIVATE_KEY';
  if (inline !== undefined) {
    // Many secret stores cannot hold newlines, so accept the key with literal "\n" too.
    pem = inline.replace(/\\n/g, '\n');
  } else if (file !== undefined) {
    variable = 'GITHUB_PRIVATE_KEY_PATH';
    try {
      pem = readFileSync(file, 'utf8');
    } catch (err) {
      throw ConfigInvalid(variable, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  if (pem !== undefined && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    // Say what is wrong without echoing any of the value.
    throw ConfigInvalid(variable, 'is not a PEM private key (expected -----BEGIN RSA PRIVATE KEY-----)');
  }
  return pem;
}

function parseEnum<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = optional(env, name) ?? fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw ConfigInvalid(name, `must be one of ${allowed.join(', ')} (got ${JSON.stringify(raw)})`);
  }
  return raw as T;
}

function parseBoolean(env: Env, name: string): boolean {
  const raw = optional(env, name);
  if (raw === undefined) return false;
  if (['1', 'true', 'yes'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no'].includes(raw.toLowerCase())) return false;
  throw ConfigInvalid(name, `must be true or false (got ${JSON.stringify(raw)})`);
}

function parseEnvRepo(env: Env): string | undefined {
  const raw = optional(env, 'ENV_REPO');
  if (raw === undefined) return undefined;
  if (/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(raw)) return raw;
  if (/^(https?|file|ssh):\/\//.test(raw)) return raw;
  throw ConfigInvalid('ENV_REPO', 'must be owner/name, an https:// or file:// clone URL');
}

// An address or CIDR, v4 or v6; proxy-addr (through fastify) does the real parsing at start-up.
const PROXY_ENTRY = /^[0-9a-fA-F.:]+(\/\d{1,3})?$/;

function parseTrustProxy(env: Env): number | string[] | false {
  const raw = optional(env, 'SHIPGATE_TRUST_PROXY');
  if (raw === undefined) return false;
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops > 16)
      throw ConfigInvalid('SHIPGATE_TRUST_PROXY', `a hop count must be at most 16 (got ${hops})`);
    return hops === 0 ? false : hops;
  }
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = entries.find((e) => !PROXY_ENTRY.test(e));
  if (bad !== undefined || entries.length === 0) {
    throw ConfigInvalid(
      'SHIPGATE_TRUST_PROXY',
      `must be a hop count or a comma-separated list of IPs/CIDRs (got ${JSON.stringify(bad ?? raw)})`,
    );
  }
  return entries;
}

const ROLE_NEEDS_GITHUB_APP: Record<Role, boolean> = { serve: false, work: true, start: true, cli: false };

/**
 * Reads and validates the environment. Throws `SHIPGATE_E_CONFIG_INVALID` with one line that
 * names the variable. `role` decides which values are required: `serve` only verifies and
 * enqueues, so it needs no GitHub App key; workers do.
 */
export function loadConfig(env: Env = process.env, role: Role = 'start'): Readonly<Config> {
  const github: GithubConfig = {
    appId: optional(env, 'GITHUB_APP_ID'),
    privateKey: readPrivateKey(env),
    webhookSecrets: Object.freeze(parseWebhookSecrets(env, role)),
    apiUrl: parseUrl('GITHUB_API_URL', optional(env, 'GITHUB_API_URL') ?? 'https://api.github.com', [
      'https:',
      'http:',
    ]),
  };
  if (github.appId !== undefined && !/^\d+$/.test(github.appId)) {
    throw ConfigInvalid('GITHUB_APP_ID', `must be the numeric App ID (got ${JSON.stringify(github.appId)})`);
  }
  if (ROLE_NEEDS_GITHUB_APP[role]) {
    if (github.appId === undefined) throw ConfigInvalid('GITHUB_APP_ID', `is required for shipgate ${role}`);
    if (github.privateKey === undefined) {
      throw ConfigInvalid(
        'GITHUB_PRIVATE_KEY',
        `or GITHUB_PRIVATE_KEY_PATH is required for shipgate ${role}`,
      );
    }
  }
  Object.defineProperty(github, Symbol.for('nodejs.util.inspect.custom'), {
    value: () => ({ ...github, privateKey: github.privateKey === undefined ? undefined : '[redacted]' }),
    enumerable: false,
  });

  const redisRaw = optional(env, 'REDIS_URL');
  const argocdServer = optional(env, 'ARGOCD_SERVER');
  const config: Config = {
    port: parsePort(env),
    host: optional(env, 'HOST') ?? '0.0.0.0',
    redisUrl: redisRaw === undefined ? undefined : parseUrl('REDIS_URL', redisRaw, ['redis:', 'rediss:']),
    queuePrefix: optional(env, 'SHIPGATE_QUEUE_PREFIX') ?? 'shipgate',
    dataDir: path.resolve(optional(env, 'SHIPGATE_DATA_DIR') ?? '.shipgate'),
    github: Object.freeze(github),
    envRepo: parseEnvRepo(env),
    slack: Object.freeze({
      botToken: optionalSecret(env, 'SLACK_BOT_TOKEN'),
      signingSecret: optionalSecret(env, 'SLACK_SIGNING_SECRET'),
      apiUrl: parseUrl('SLACK_API_URL', optional(env, 'SLACK_API_URL') ?? 'https://slack.com/api', [
        'https:',
        'http:',
      ]),
    }),
    argocd: Object.freeze({
      server:
        argocdServer === undefined ? undefined : parseUrl('ARGOCD_SERVER', argocdServer, ['https:', 'http:']),
      token: optionalSecret(env, 'ARGOCD_TOKEN'),
      insecure: parseBoolean(env, 'ARGOCD_INSECURE'),
      caFile: optional(env, 'ARGOCD_CA_FILE'),
    }),
    kubeconfig: optional(env, 'KUBECONFIG'),
    executor: parseEnum(
      env,
      'SHIPGATE_EXECUTOR',
      ['local', 'local-unsandboxed', 'kubernetes'] as const,
      'local',
    ),
    gateNetwork: parseEnum(env, 'SHIPGATE_GATE_NETWORK', ['none', 'egress'] as const, 'none'),
    gatesNamespace: optional(env, 'SHIPGATE_GATES_NAMESPACE') ?? 'shipgate-gates',
    apiToken: optionalSecret(env, 'SHIPGATE_API_TOKEN'),
    logLevel: parseEnum(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    trustProxy: parseTrustProxy(env),
    auditRetentionDays: parseRetentionDays(env),
    console: parseConsoleConfig(env, github.apiUrl),
  };
  if (role !== 'cli') checkDeployConfiguration(env, config, role);
  return Object.freeze(config);
}

const CONSOLE_VARIABLES = [
  'SHIPGATE_PUBLIC_URL',
  'GITHUB_OAUTH_CLIENT_ID',
  'GITHUB_OAUTH_CLIENT_SECRET',
  'SHIPGATE_SESSION_SECRET',
] as const;

/** GitHub's web host: api.github.com → github.com; GHES /api/v3 → its host. */
export function githubWebUrlOf(apiUrl: string): string {
  const url = new URL(apiUrl);
  if (url.hostname === 'api.github.com') return 'https://github.com';
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/api\/v3\/?$/, '')}`.replace(/\/+$/, '');
}

/**
 * Console sign-in is all or nothing: with some of its variables set and others not, the start
 * stops and names the missing ones, rather than serving a login page that cannot work.
 */
function parseConsoleConfig(env: Env, apiUrl: string): ConsoleConfig | undefined {
  const set = CONSOLE_VARIABLES.filter((name) => optional(env, name) !== undefined);
  if (set.length === 0) return undefined;
  if (set.length < CONSOLE_VARIABLES.length) {
    const missing = CONSOLE_VARIABLES.filter((name) => !set.includes(name));
    throw ConfigInvalid(
      missing[0]!,
      `is required for console sign-in (${set.join(', ')} set; also set ${missing.join(', ')}, or unset them all)`,
    );
  }
  const publicUrl = parseUrl('SHIPGATE_PUBLIC_URL', optional(env, 'SHIPGATE_PUBLIC_URL')!, [
    'https:',
    'http:',
  ]);
  const sessionSecret = optional(env, 'SHIPGATE_SESSION_SECRET')!;
  if (sessionSecret.length < 32) {
    throw ConfigInvalid('SHIPGATE_SESSION_SECRET', `must be at least 32 characters; ${SECRET_ADVICE}`);
  }
  const weak = weakSecretReason(sessionSecret);
  if (weak !== undefined) throw ConfigInvalid('SHIPGATE_SESSION_SECRET', weak);
  const clientSecret = optional(env, 'GITHUB_OAUTH_CLIENT_SECRET')!;
  const ttlRaw = optional(env, 'SHIPGATE_SESSION_TTL_HOURS') ?? '12';
  const ttl = Number(ttlRaw);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 720) {
    throw ConfigInvalid(
      'SHIPGATE_SESSION_TTL_HOURS',
      `must be an integer from 1 to 720 (got ${JSON.stringify(ttlRaw)})`,
    );
  }
  const webRaw = optional(env, 'GITHUB_WEB_URL');
  const consoleConfig: ConsoleConfig = {
    publicUrl,
    githubWebUrl:
      webRaw === undefined ? githubWebUrlOf(apiUrl) : parseUrl('GITHUB_WEB_URL', webRaw, ['https:', 'http:']),
    oauthClientId: optional(env, 'GITHUB_OAUTH_CLIENT_ID')!,
    oauthClientSecret: clientSecret,
    sessionSecret,
    sessionTtlHours: ttl,
    secureCookies: publicUrl.startsWith('https:'),
  };
  Object.defineProperty(consoleConfig, Symbol.for('nodejs.util.inspect.custom'), {
    value: () => ({ ...consoleConfig, oauthClientSecret: '[redacted]', sessionSecret: '[redacted]' }),
    enumerable: false,
  });
  return Object.freeze(consoleConfig);
}

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * A partial deploy configuration stops the start. Before this, `ARGOCD_SERVER` without a token
 * (or with it under `ARGOCD_AUTH_TOKEN`, the argocd CLI's name) started without complaint, Argo
 * CD was turned off, and a release pushed its commit to the env repo before failing: git then
 * named a version no gate had verified.
 */
function checkDeployConfiguration(env: Env, config: Config, role: Role): void {
  const cliToken = optional(env, 'ARGOCD_AUTH_TOKEN');
  const { server, token, caFile } = config.argocd;
  if (cliToken !== undefined && cliToken !== token) {
    throw ConfigInvalid(
      'ARGOCD_AUTH_TOKEN',
      token === undefined
        ? "is the argocd CLI's variable and Shipgate does not read it: put the token in ARGOCD_TOKEN"
        : 'differs from ARGOCD_TOKEN: Shipgate reads only ARGOCD_TOKEN, unset ARGOCD_AUTH_TOKEN',
    );
  }
  if (server !== undefined && token === undefined) {
    throw ConfigInvalid(
      'ARGOCD_TOKEN',
      'is required with ARGOCD_SERVER: without it no deploy can sync or verify',
    );
  }
  if (server === undefined && token !== undefined) {
    throw ConfigInvalid(
      'ARGOCD_SERVER',
      'is required with ARGOCD_TOKEN: set the Argo CD URL, or unset the token',
    );
  }
  // Only workers deploy and run Kubernetes Jobs; `serve` never talks to Argo CD or the cluster.
  if (role === 'serve') return;
  if (server !== undefined && config.envRepo === undefined) {
    throw ConfigInvalid(
      'ENV_REPO',
      'is required with ARGOCD_SERVER: every deploy is a commit to the env repo',
    );
  }
  if (caFile !== undefined) requireReadable('ARGOCD_CA_FILE', caFile);
  if (config.kubeconfig !== undefined) {
    requireReadable('KUBECONFIG', config.kubeconfig);
    return;
  }
  if (inCluster(env)) return;
  if (server !== undefined) {
    throw ConfigInvalid(
      'KUBECONFIG',
      'is required with ARGOCD_SERVER outside a cluster: deploys watch Argo Rollouts through the Kubernetes API',
    );
  }
  if (config.executor === 'kubernetes') {
    throw ConfigInvalid(
      'KUBECONFIG',
      'is required with SHIPGATE_EXECUTOR=kubernetes outside a cluster: gates run as Kubernetes Jobs',
    );
  }
}

/** What `@kubernetes/client-node`'s in-cluster loader needs; without it, it builds a config for `https://undefined`. */
function inCluster(env: Env): boolean {
  return (
    optional(env, 'KUBERNETES_SERVICE_HOST') !== undefined &&
    optional(env, 'KUBERNETES_SERVICE_PORT') !== undefined &&
    existsSync(IN_CLUSTER_TOKEN)
  );
}

function requireReadable(name: string, file: string): void {
  try {
    accessSync(file, constants.R_OK);
  } catch (err) {
    throw ConfigInvalid(name, `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
}
