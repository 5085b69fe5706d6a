import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_EVENTS, APP_PERMISSIONS, appManifest, githubBases } from '../../../src/setup/app-manifest.js';

/**
 * `shipgate setup --code` against a local stand-in of GitHub's
 * `POST /app-manifests/{code}/conversions`: a good code, an unknown one (404), a 422, and a
 * `.env` that already exists (refused before the one-use code is spent, unless --force).
 */
const ROOT = path.resolve(import.meta.dirname, '../../..');
let server: Server;
let apiUrl: string;
const conversions: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const match = /^\/app-manifests\/([^/]+)\/conversions$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) return void res.writeHead(404).end();
    const code = match[1]!;
    conversions.push(code);
    res.setHeader('content-type', 'application/json');
    if (code === 'good-code') {
      res.writeHead(201).end(
        JSON.stringify({
          id: 777,
          slug: 'shipgate-acme',
          html_url: 'https://github.com/apps/shipgate-acme',
          client_id: 'Iv1.abc123',
          client_secret: 'client-secret-value',
          webhook_secret: 'webhook-secret-value-0123456789',
          pem: '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\n',
        }),
      );
    } else if (code === 'taken-name') {
      res.writeHead(422).end(JSON.stringify({ message: 'Name is already in use' }));
    } else {
      res.writeHead(404).end(JSON.stringify({ message: 'Not Found' }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

function setup(cwd: string, args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(
      path.join(ROOT, 'node_modules/.bin/tsx'),
      [path.join(ROOT, 'src/cli.ts'), 'setup', ...args],
      {
        cwd,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, GITHUB_API_URL: apiUrl },
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the App manifest', () => {
  it('asks for exactly the permissions and events Shipgate uses', () => {
    const manifest = appManifest({
      name: 'Shipgate',
      url: 'https://example.test',
      webhookUrl: 'https://smee.io/abc',
      redirectUrl: 'http://127.0.0.1:3300/callback',
    });
    expect(manifest.default_permissions).toEqual({
      checks: 'write',
      contents: 'write',
      deployments: 'write',
      pull_requests: 'write',
      metadata: 'read',
    });
    expect(manifest.default_permissions).toEqual(APP_PERMISSIONS);
    expect(manifest.default_events).toEqual([...APP_EVENTS]);
    expect(manifest.hook_attributes.url).toBe('https://smee.io/abc');
    expect(manifest.public).toBe(false);
    expect(githubBases(undefined)).toEqual({ web: 'https://github.com', api: 'https://api.github.com' });
    expect(githubBases('https://ghes.acme.test/')).toEqual({
      web: 'https://ghes.acme.test',
      api: 'https://ghes.acme.test/api/v3',
    });
  });
});

describe('shipgate setup --code', { timeout: 300_000 }, () => {
  it('writes .env and a 0600 key, and prints the install link; an existing .env needs --force', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'shipgate-setup-'));
    try {
      const first = await setup(cwd, ['--code', 'good-code']);
      expect(first.code, first.stderr).toBe(0);
      const env = readFileSync(path.join(cwd, '.env'), 'utf8');
      expect(env).toMatch(/^GITHUB_APP_ID=777$/m);
      expect(env).toMatch(/^GITHUB_WEBHOOK_SECRET=webhook-secret-value-0123456789$/m);
      expect(env).toMatch(/^GITHUB_CLIENT_ID=Iv1\.abc123$/m);
      expect(env).toMatch(/^GITHUB_CLIENT_SECRET=client-secret-value$/m);
      expect(env).toMatch(/^GITHUB_PRIVATE_KEY_PATH=\.\/github-app\.private-key\.pem$/m);
      const key = path.join(cwd, 'github-app.private-key.pem');
      expect(readFileSync(key, 'utf8')).toContain('BEGIN RSA PRIVATE KEY');
      expect(statSync(key).mode & 0o777).toBe(0o600);
      expect(first.stdout).toContain('https://github.com/apps/shipgate-acme/installations/new');
      expect(first.stdout).not.toContain('client-secret-value');

      // A second run refuses before spending the code.
      writeFileSync(path.join(cwd, '.env'), 'MINE=1\n');
      const before = conversions.length;
      const refused = await setup(cwd, ['--code', 'good-code']);
      expect(refused.code).toBe(2);
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toMatch(/^shipgate: \.env: already exists: .*--force/);
      expect(readFileSync(path.join(cwd, '.env'), 'utf8')).toBe('MINE=1\n');
      expect(conversions.length).toBe(before);

      const forced = await setup(cwd, ['--code', 'good-code', '--force']);
      expect(forced.code, forced.stderr).toBe(0);
      expect(readFileSync(path.join(cwd, '.env'), 'utf8')).toMatch(/^GITHUB_APP_ID=777$/m);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('says in one line what to do with an unknown code or a 422, and writes nothing', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'shipgate-setup-'));
    try {
      const expired = await setup(cwd, ['--code', 'expired-code']);
      expect(expired.code).toBe(1);
      expect(expired.stderr.trim().split('\n')).toHaveLength(1);
      expect(expired.stderr).toMatch(/HTTP 404\): the code is unknown or expired .*run shipgate setup again/);
      const taken = await setup(cwd, ['--code', 'taken-name']);
      expect(taken.code).toBe(1);
      expect(taken.stderr).toMatch(/HTTP 422\): GitHub could not create the App \(Name is already in use\)/);
      expect(existsSync(path.join(cwd, '.env'))).toBe(false);
      expect(existsSync(path.join(cwd, 'github-app.private-key.pem'))).toBe(false);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
