import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIngress, type Ingress } from '../ingress/ingress-harness.js';

/**
 * The console as `shipgate serve` serves it: a real server on port 0 over a built console
 * folder (a small stand-in build, so this test does not depend on `npm run build:web`), and
 * one over a folder with no build.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-console-'));
const built = path.join(dir, 'web');
const INDEX =
  '<!doctype html><html><head><script type="module" src="/assets/index-Abc123.js"></script></head></html>';
let server: Ingress;
let unbuilt: Ingress;

beforeAll(async () => {
  mkdirSync(path.join(built, 'assets'), { recursive: true });
  mkdirSync(path.join(built, '.vite'), { recursive: true });
  writeFileSync(path.join(built, 'index.html'), INDEX);
  writeFileSync(path.join(built, 'assets', 'index-Abc123.js'), 'console.log("console");\n');
  writeFileSync(path.join(built, 'assets', 'index-Abc123.css'), 'body{margin:0}\n');
  writeFileSync(path.join(built, '.vite', 'manifest.json'), '{}');
  server = await startIngress({
    console: { dir: built },
    env: { GITHUB_API_URL: 'https://ghe.example.com/api/v3' },
  });
  unbuilt = await startIngress({ console: { dir: path.join(dir, 'missing') } });
});

afterAll(async () => {
  await Promise.all([server?.close(), unbuilt?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('the web console', () => {
  it('answers / and every client route with index.html, revalidated, under a strict CSP', async () => {
    for (const route of [
      '/',
      '/runs',
      '/runs/01M8ZDK6AMXRSV9ZM1HJJ0WHXG',
      '/environments',
      '/approvals',
      '/rollback',
      '/audit?kind=rollback',
    ]) {
      const res = await fetch(server.baseUrl + route);
      expect(res.status, route).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toBe(INDEX);
      const csp = res.headers.get('content-security-policy') ?? '';
      const directives = new Map(
        csp.split(';').map((d) => {
          const [name, ...values] = d.trim().split(/\s+/);
          return [name!, values] as const;
        }),
      );
      expect(directives.get('script-src')).toEqual(["'self'"]);
      expect(directives.get('style-src')).toEqual(["'self'"]);
      expect(directives.get('connect-src')).toEqual(["'self'"]);
      expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
      // Avatars from github.com and, for GitHub Enterprise Server, from its own host.
      expect(directives.get('img-src')).toEqual([
        "'self'",
        'data:',
        'https://avatars.githubusercontent.com',
        'https://ghe.example.com',
        'https://avatars.ghe.example.com',
      ]);
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
    }
  });

  it('serves hashed assets for a year, immutable, and nothing outside assets/', async () => {
    const js = await fetch(`${server.baseUrl}/assets/index-Abc123.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript|^application\/javascript/);
    expect(await js.text()).toContain('console.log');
    const css = await fetch(`${server.baseUrl}/assets/index-Abc123.css`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);

    for (const probe of [
      '/assets/nope.js',
      '/assets/../index.html',
      '/assets/%2e%2e/.vite/manifest.json',
      '/.vite/manifest.json',
      '/index.html',
    ]) {
      const res = await fetch(server.baseUrl + probe);
      expect(res.status, probe).toBe(404);
      await res.arrayBuffer();
    }
  });

  it('leaves the API and health routes as they were', async () => {
    const live = await fetch(`${server.baseUrl}/livez`);
    expect(live.status).toBe(200);
    await live.arrayBuffer();
    const api = await fetch(`${server.baseUrl}/api/unknown`);
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('SHIPGATE_E_NOT_FOUND');
  });

  it('says how to build it when the build is missing', async () => {
    for (const route of ['/', '/runs/01M8ZDK6AMXRSV9ZM1HJJ0WHXG', '/assets/index-Abc123.js']) {
      const res = await fetch(unbuilt.baseUrl + route);
      expect(res.status, route).toBe(503);
      expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(await res.text()).toContain('npm run build');
    }
  });
});
