import { ApiRequestFailed, ApiUnreachable, ConfigInvalid } from '../errors.js';
import type { Config } from '../config.js';

/** Where the CLI finds the server: `--url`, else SHIPGATE_URL, else this machine on PORT. */
export function apiBase(config: Readonly<Config>, url: string | undefined): string {
  return (url ?? process.env.SHIPGATE_URL ?? `http://127.0.0.1:${config.port}`).replace(/\/+$/, '');
}

export function requireApiToken(config: Readonly<Config>, command: string): string {
  if (config.apiToken === undefined) {
    throw ConfigInvalid('SHIPGATE_API_TOKEN', `is required for shipgate ${command} (it calls the HTTP API)`);
  }
  return config.apiToken;
}

export interface ApiAnswer<T> {
  status: number;
  body: T;
}

/**
 * One call to the server's API with the bearer token. A connection failure becomes
 * `SHIPGATE_E_API_UNREACHABLE` (one line saying what to start) instead of `fetch failed`.
 */
export async function callApi<T>(
  base: string,
  token: string,
  path: string,
  init: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<ApiAnswer<T>> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: init.signal ?? AbortSignal.timeout(30_000),
    });
  } catch (err) {
    if (init.signal?.aborted === true) throw err;
    throw ApiUnreachable(base, { cause: err });
  }
  const body = (await response.json().catch(() => ({}))) as T;
  return { status: response.status, body };
}

/** Throws the server's `{ error: { code, message } }` as one line when `answer` is not `ok`. */
export function expectOk<T>(answer: ApiAnswer<T>, what: string, ok = [200]): T {
  if (ok.includes(answer.status)) return answer.body;
  const error = (answer.body as { error?: { code?: string; message?: string } }).error;
  const message = error?.message ?? 'no error message';
  throw ApiRequestFailed(what, answer.status, error?.code ? `${message} (${error.code})` : message);
}
