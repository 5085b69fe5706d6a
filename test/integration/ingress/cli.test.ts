import { spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/redis/embedded-redis.js';
import {
  startHookDeliveriesStandIn,
  type HookDeliveriesStandIn,
} from '../../../sandbox/github-hook-deliveries-stand-in.js';
import { postDelivery, signedDelivery } from '../../support/sign-webhook.js';
import { FIXTURES } from '../../support/fixtures.js';
import { groupAlive, killGroup, spawnGroup } from '../../support/process-group.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const CLI = path.join(ROOT, 'src/cli.ts');
const keys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(path.join(tmpdir(), 'shipgate-cli-'));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** The environment without anything Shipgate reads, so only what a test sets counts. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(GITHUB_|REDIS_URL|SHIPGATE_|PORT$|LOG_LEVEL)/.test(k)),
  );
  return { ...env, ...extra };
}

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(TSX, [CLI, ...args], { cwd, env: cleanEnv(env), encoding: 'utf8', timeout: 20_000 });
}

describe('shipgate CLI', () => {
  it('prints help', () => {
    const res = run(['--help']);
    expect(res.status).toBe(0);
    for (const c of ['start', 'serve', 'work', 'redeliver']) expect(res.stdout).toContain(c);
  });

  it('stops with one line naming the variable and exit code 2 on bad configuration', () => {
    const missing = run(['serve']);
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/^shipgate: GITHUB_WEBHOOK_SECRET: is required/);
    const badPort = run(['serve'], { GITHUB_WEBHOOK_SECRET: 'x', PORT: 'http' });
    expect(badPort.stderr.trim()).toBe('shipgate: PORT: must be an integer from 0 to 65535 (got "http")');
    const since = run(['redeliver', '--since', 'last tuesday'], {
      GITHUB_WEBHOOK_SECRET: 'x',
      GITHUB_APP_ID: '1',
      GITHUB_PRIVATE_KEY: keys.privateKey,
    });
    expect(since.status).toBe(2);
    expect(since.stderr).toMatch(/^shipgate: --since: /);
    expect(since.stderr).not.toContain('PRIVATE KEY');
  });

  describe('start with the embedded defaults', () => {
    let standIn: HookDeliveriesStandIn;
    let child: ChildProcess | undefined;
    beforeAll(async () => {
      standIn = await startHookDeliveriesStandIn({ appId: '77', publicKeyPem: keys.publicKey });
    });
    afterAll(async () => {
      // The whole group: tsx's node child and its redis-server too, even when the test failed.
      killGroup(child);
      await standIn.close();
    });

    it('launches redis-server, takes webhooks, runs the redelivery sweep, and shuts down on SIGTERM', async () => {
      const port = await freePort();
      writeFileSync(path.join(cwd, 'key.pem'), keys.privateKey);
      // Secrets from .env, as in the README quick start; the environment wins over the file.
      writeFileSync(
        path.join(cwd, '.env'),
        `GITHUB_WEBHOOK_SECRET=dotenv-secret\nGITHUB_APP_ID=77\nGITHUB_PRIVATE_KEY_PATH=${cwd}/key.pem\nPORT=1\n`,
      );
      const proc = spawnGroup(TSX, [CLI, 'start'], {
        cwd,
        env: cleanEnv({ PORT: String(port), GITHUB_API_URL: standIn.baseUrl, HOST: '127.0.0.1' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      let output = '';
      proc.stdout?.on('data', (c: Buffer) => (output += c.toString()));
      proc.stderr?.on('data', (c: Buffer) => (output += c.toString()));
      const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));

      const base = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const ok = await fetch(`${base}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect((await fetch(`${base}/readyz`)).status, output).toBe(200);
      const urlFile = path.join(cwd, '.shipgate/redis/shipgate-redis.url');
      expect(readFileSync(urlFile, 'utf8')).toMatch(/^redis:\/\/127\.0\.0\.1:\d+/);

      const payload = JSON.parse(readFileSync(`${FIXTURES}/github/create-tag.json`, 'utf8')) as object;
      const d = await signedDelivery({ secret: 'dotenv-secret', event: 'create', payload });
      expect((await postDelivery(base, d)).status).toBe(202);

      // The worker ran the scheduled sweep with an App JWT the stand-in accepted.
      const sweepDeadline = Date.now() + 10_000;
      while (standIn.listRequests === 0 && Date.now() < sweepDeadline)
        await new Promise((r) => setTimeout(r, 100));
      expect(standIn.listRequests).toBeGreaterThan(0);
      expect(standIn.unauthorized).toBe(0);

      proc.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]);
      expect(code, output).toBe(0);
      expect(output).toContain('shutdown complete');
      expect(existsSync(urlFile)).toBe(false);
      expect(existsSync(path.join(cwd, '.shipgate/redis/appendonlydir'))).toBe(true);
      expect(output).not.toContain('dotenv-secret');
      expect(output).not.toContain('PRIVATE KEY');
      // Nothing of the group (node child, redis-server) outlives the shutdown.
      const goneDeadline = Date.now() + 5000;
      while (groupAlive(proc.pid!) && Date.now() < goneDeadline) await new Promise((r) => setTimeout(r, 50));
      expect(groupAlive(proc.pid!)).toBe(false);
    });
  });
});
