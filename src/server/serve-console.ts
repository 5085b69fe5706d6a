import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Serves the web console built by `npm run build:web` (web/ → dist/web): index.html for `/` and
 * every client route, hashed files under /assets/. The console talks only to the API on this
 * same origin, so its CSP allows nothing else: no inline script or style, no CDN, no framing.
 */

export interface ConsoleOptions {
  /** The built console (holding index.html and assets/). @defaultValue `<package root>/dist/web` */
  dir?: string;
  /**
   * Origins avatars may load from besides github.com's, for GitHub Enterprise Server
   * (see `avatarOriginsOf`). @defaultValue []
   */
  avatarOrigins?: readonly string[];
}

/** The console's pages; the browser picks the view from the path (web/src/router.ts). */
export const CONSOLE_ROUTES = [
  '/',
  '/runs',
  '/runs/:id',
  '/environments',
  '/approvals',
  '/rollback',
  '/audit',
] as const;

export function consoleCsp(avatarOrigins: readonly string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    ['img-src', "'self'", 'data:', 'https://avatars.githubusercontent.com', ...avatarOrigins].join(' '),
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** GitHub Enterprise Server serves avatars from its own host (or an `avatars.` subdomain of it). */
export function avatarOriginsOf(githubApiUrl: string): string[] {
  const url = new URL(githubApiUrl);
  if (url.hostname === 'api.github.com') return [];
  return [url.origin, `${url.protocol}//avatars.${url.host}`];
}

/** The folder above this file holding Shipgate's package.json: the same from src/ (tsx) and dist/src/. */
function packageRoot(): string {
  for (let dir = import.meta.dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === 'shipgate')
      return dir;
  }
  return process.cwd();
}

export function defaultConsoleDir(): string {
  return path.join(packageRoot(), 'dist', 'web');
}

const NOT_BUILT =
  'The Shipgate web console is not built. Run `npm run build` (or `npm run build:web`) in the Shipgate folder, then reload. The API, webhooks and health endpoints work without it.\n';

export function serveConsole(options: ConsoleOptions = {}): FastifyPluginAsync {
  const dir = path.resolve(options.dir ?? defaultConsoleDir());
  const csp = consoleCsp(options.avatarOrigins);
  const indexFile = path.join(dir, 'index.html');
  const assetsDir = path.join(dir, 'assets');
  return async (app) => {
    // Read once; a console built after start-up is picked up at the next request.
    let index: Buffer | undefined = existsSync(indexFile) ? readFileSync(indexFile) : undefined;
    const notBuilt = (reply: FastifyReply) =>
      reply
        .code(503)
        .header('cache-control', 'no-store')
        .header('retry-after', '60')
        .type('text/plain; charset=utf-8')
        .send(NOT_BUILT);

    for (const url of CONSOLE_ROUTES) {
      app.get(url, async (_request, reply) => {
        index ??= existsSync(indexFile) ? readFileSync(indexFile) : undefined;
        if (index === undefined) return notBuilt(reply);
        // no-cache: the page names this build's hashed assets, so it is revalidated every time.
        return reply
          .header('cache-control', 'no-cache')
          .header('content-security-policy', csp)
          .header('x-frame-options', 'DENY')
          .type('text/html; charset=utf-8')
          .send(index);
      });
    }

    if (!existsSync(assetsDir)) {
      app.get('/assets/*', async (_request, reply) => notBuilt(reply));
      return;
    }
    await app.register(fastifyStatic, {
      root: assetsDir,
      prefix: '/assets/',
      // Names carry a content hash: a new build has new names, so a year and immutable is safe.
      maxAge: 365 * 24 * 60 * 60 * 1000,
      immutable: true,
      cacheControl: true,
      etag: false,
      lastModified: false,
      index: false,
      list: false,
      dotfiles: 'deny',
      decorateReply: false,
      // Brotli/gzip siblings are not built; negotiating would only add stat calls.
      preCompressed: false,
    });
  };
}
