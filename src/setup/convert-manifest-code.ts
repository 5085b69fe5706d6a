import { AppManifestConversionFailed } from '../errors.js';

/** What GitHub answers to `POST /app-manifests/{code}/conversions` (the fields Shipgate keeps). */
export interface ConvertedApp {
  id: number;
  slug: string;
  html_url: string;
  client_id: string;
  client_secret: string;
  webhook_secret: string;
  pem: string;
}

/**
 * Exchanges the one-time code GitHub gave the redirect for the App's credentials. No
 * authentication: the code itself is the proof, valid for one hour and one use.
 */
export async function convertManifestCode(apiUrl: string, code: string): Promise<ConvertedApp> {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(code))
    throw AppManifestConversionFailed(0, 'the code has unexpected characters');
  const response = await fetch(`${apiUrl.replace(/\/+$/, '')}/app-manifests/${code}/conversions`, {
    method: 'POST',
    headers: { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' },
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await response.json().catch(() => ({}))) as Partial<ConvertedApp> & { message?: string };
  if (response.status !== 201) {
    const hint =
      response.status === 404
        ? 'the code is unknown or expired (codes last one hour and work once): run shipgate setup again'
        : response.status === 422
          ? `GitHub could not create the App${body.message ? ` (${body.message})` : ''}: check the name and URLs, then run shipgate setup again`
          : (body.message ?? 'unexpected answer');
    throw AppManifestConversionFailed(response.status, hint);
  }
  for (const field of [
    'id',
    'slug',
    'html_url',
    'client_id',
    'client_secret',
    'webhook_secret',
    'pem',
  ] as const) {
    if (body[field] === undefined || body[field] === null || body[field] === '')
      throw AppManifestConversionFailed(response.status, `the answer has no ${field}`);
  }
  return body as ConvertedApp;
}
