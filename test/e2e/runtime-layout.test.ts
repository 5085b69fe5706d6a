import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_REDIS_URL } from '../support/redis.js';

/**
 * No Docker engine runs here, so this builds the image's runtime layout the way the Dockerfile
 * does — compiled dist/, package.json, schemas/, and a production-only install — and starts
 * the image's entrypoint (`node dist/src/cli.js serve`) from it.
 */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the image runtime layout', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-runtime-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves /livez from a production-only install', { timeout: 240_000 }, async () => {
    if (!existsSync('dist/src/cli.js')) execFileSync('npm', ['run', 'build'], { stdio: 'ignore' });
    if (!existsSync('dist/web/index.html')) execFileSync('npm', ['run', 'build:web'], { stdio: 'ignore' });
    for (const entry of ['package.json', 'package-lock.json', 'dist', 'schemas']) {
      cpSync(entry, path.join(dir, entry), { recursive: true });
    }
    // As in the Dockerfile's build stage: dev dependencies are not in the image.
    execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: dir,
      stdio: 'ignore',
      timeout: 180_000,
    });
    expect(existsSync(path.join(dir, 'node_modules', 'vitest'))).toBe(false);
    expect(existsSync(path.join(dir, 'node_modules', 'fastify'))).toBe(true);

    const port = await freePort();
    const child = spawn(process.execPath, ['dist/src/cli.js', 'serve'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        PORT: String(port),
        HOST: '127.0.0.1',
        REDIS_URL: TEST_REDIS_URL,
        GITHUB_WEBHOOK_SECRET: 'runtime-layout-test-secret',
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const deadline = Date.now() + 20_000;
      let status = 0;
      while (Date.now() < deadline) {
        status = await fetch(`http://127.0.0.1:${port}/livez`)
          .then((r) => r.status)
          .catch(() => 0);
        if (status === 200) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(status, stderr).toBe(200);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      // The web console ships in dist/ and is served with production dependencies only.
      const page = await fetch(`http://127.0.0.1:${port}/`);
      expect(page.status).toBe(200);
      const script = /<script type="module" crossorigin src="(\/assets\/[^"]+\.js)"/.exec(
        await page.text(),
      )?.[1];
      expect(script).toBeDefined();
      const asset = await fetch(`http://127.0.0.1:${port}${script}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      await asset.arrayBuffer();
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    // Graceful shutdown on SIGTERM exits cleanly.
    expect(child.exitCode).toBe(0);
  });
});
