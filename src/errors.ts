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
export const WebhookPayloadInvalid = defineError(
  'SHIPGATE_E_WEBHOOK_PAYLOAD_INVALID',
  400,
  false,
  (reason: string) => `invalid webhook payload: ${reason}`,
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

// ── github ──────────────────────────────────────────────────────────────────

// ── pipeline (.shipgate.yml) and policy ─────────────────────────────────────

// ── runs ────────────────────────────────────────────────────────────────────

// ── executors and gates ─────────────────────────────────────────────────────

// ── gitops writer ───────────────────────────────────────────────────────────

// ── argo cd and deploy ──────────────────────────────────────────────────────

// ── slack and approvals ─────────────────────────────────────────────────────
