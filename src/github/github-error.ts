import {
  GithubAuthFailed,
  GithubNotFound,
  GithubRateLimited,
  GithubRequestRejected,
  GithubResponseInvalid,
  GithubUnavailable,
  isShipgateError,
  type ShipgateError,
} from '../errors.js';
import type { z } from 'zod';

/**
 * Maps whatever an Octokit call threw onto the catalogue. The original error is not kept
 * as `cause`: an @octokit/request-error carries the request options, and we want nothing
 * that was near a token to travel on into logs or job failure reasons.
 */
export function toGithubError(operation: string, err: unknown): ShipgateError {
  if (isShipgateError(err)) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    status?: unknown;
    message?: unknown;
    name?: unknown;
    cause?: unknown;
    response?: { headers?: Record<string, string | undefined>; data?: unknown };
  };
  const status = typeof e.status === 'number' ? e.status : undefined;
  const headers = e.response?.headers ?? {};
  const message = scrubSecrets(messageOf(e)).slice(0, 500);
  const details: Record<string, unknown> = { operation, status };
  if (headers['x-github-request-id']) details.githubRequestId = headers['x-github-request-id'];

  // No response at all (DNS, refused connection, reset, our timeout) arrives as status 500
  // without a response object, or without a status when the error did not come from
  // @octokit/request.
  if (status === undefined || e.response === undefined || status >= 500) {
    return GithubUnavailable(operation, message, { details });
  }
  if (status === 429 || (status === 403 && isRateLimit(headers, message))) {
    const retryAfter = headers['retry-after'];
    if (retryAfter) details.retryAfterSeconds = Number(retryAfter);
    const reset = headers['x-ratelimit-reset'];
    if (reset && headers['x-ratelimit-remaining'] === '0') {
      details.rateLimitResetAt = new Date(Number(reset) * 1000).toISOString();
    }
    return GithubRateLimited(operation, message, { details });
  }
  if (status === 401 || status === 403) return GithubAuthFailed(operation, status, message, { details });
  if (status === 404) return GithubNotFound(operation, message, { details });
  return GithubRequestRejected(operation, status, message, { details });
}

function isRateLimit(headers: Record<string, string | undefined>, message: string): boolean {
  return headers['x-ratelimit-remaining'] === '0' || /rate limit/i.test(message);
}

function messageOf(e: { message?: unknown; response?: { data?: unknown } }): string {
  const data = e.response?.data;
  if (typeof data === 'object' && data !== null && 'message' in data) {
    const { message, errors } = data as { message?: unknown; errors?: unknown };
    const detail = Array.isArray(errors)
      ? errors
          .map((x) =>
            typeof x === 'object' && x !== null && 'message' in x
              ? String((x as { message: unknown }).message)
              : JSON.stringify(x),
          )
          .join('; ')
      : '';
    return detail ? `${String(message)}: ${detail}` : String(message);
  }
  return typeof e.message === 'string' && e.message !== '' ? e.message : 'unknown error';
}

const SECRET_PATTERNS: [RegExp, string][] = [
  // GitHub token formats: ghs_ (installation), ghp_, gho_, ghu_, ghr_, github_pat_, and the
  // legacy 40-hex "v1." installation tokens.
  [/\b(?:gh[opsur]_[A-Za-z0-9_]{16,}|github_pat_[A-Za-z0-9_]{20,}|v1\.[0-9a-f]{40})\b/g, '[redacted]'],
  // JWTs (the App's bearer token).
  [/\beyJ[\w-]*\.[\w-]+\.[\w-]+/g, '[redacted]'],
  // A credential after an auth scheme; the length test keeps "a web token could not…" intact.
  [/\b(bearer|token|basic)\s+[A-Za-z0-9._~+/=-]{20,}/gi, '$1 [redacted]'],
];

/** Belt and braces: GitHub does not echo tokens, but proxies and test servers might. */
export function scrubSecrets(text: string): string {
  return SECRET_PATTERNS.reduce((acc, [pattern, replacement]) => acc.replace(pattern, replacement), text);
}

/** Runs one GitHub call and converts any failure into a catalogue error. */
export async function callGithub<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toGithubError(operation, err);
  }
}

/** Parses a response body; GitHub's shapes cross a boundary like any other input. */
export function parseGithubResponse<S extends z.ZodType>(
  operation: string,
  schema: S,
  data: unknown,
): z.infer<S> {
  const result = schema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : '(root)';
    throw GithubResponseInvalid(operation, `${where}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}
