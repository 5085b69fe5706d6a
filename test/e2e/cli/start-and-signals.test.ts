import { spawnSync, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/redis/embedded-redis.js';
import {
  startHookDeliveriesStandIn,
  type HookDeliveriesStandIn,
} from '../../../sandbox/github-hook-deliveries-stand-in.js';
import { postDelivery, signedDelivery } from '../../support/sign-webhook.js';
import { FIXTURES } from '../../support/fixtures.js';
import { groupAlive, killGroup, spawnGroup } from '../../support/process-group.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../../support/redis.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const CLI = path.join(ROOT, 'src/cli.ts');
/** tsx as a loader, by absolute URL: the CLI runs in a temp folder that has no node_modules. */
const TSX_LOADER = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const keys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

const WEBHOOK_SECRET = 'cli-test-webhook-secret-0123';
/** Each case starts the real CLI through tsx: slow on a loaded machine, and still bounded. */
const SPAWN_TIMEOUT_MS = 120_000;

let cwd: string;
beforeAll(() => {
  cwd = mkdtempSync(path.join(tmpdir(), 'shipgate-cli-'));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** The environment without anything Shipgate reads, so only what a test sets counts. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        !/^(GITHUB_|REDIS_URL|SHIPGATE_|PORT$|LOG_LEVEL|ARGOCD_|KUBECONFIG$|KUBERNETES_|SLACK_)/.test(k),
    ),
  );
  return { ...env, ...extra };
}

function run(args: string[], env: Record<string, string> = {}, dir = cwd) {
  return spawnSync(TSX, [CLI, ...args], { cwd: dir, env: cleanEnv(env), encoding: 'utf8', timeout: 90_000 });
}

describe('shipgate CLI', () => {
  it('prints help', () => {
    const res = run(['--help']);
    expect(res.status).toBe(0);
    for (const c of ['start', 'serve', 'work', 'redeliver']) expect(res.stdout).toContain(c);
  });

  it(
    'stops with one line naming the variable and exit code 2 on bad configuration',
    () => {
      const missing = run(['serve']);
      expect(missing.status).toBe(2);
      expect(missing.stderr.trim().split('\n')).toHaveLength(1);
      expect(missing.stderr).toMatch(/^shipgate: GITHUB_WEBHOOK_SECRET: is required/);
      const badPort = run(['serve'], { GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET, PORT: 'http' });
      expect(badPort.stderr.trim()).toBe('shipgate: PORT: must be an integer from 0 to 65535 (got "http")');
      const since = run(['redeliver', '--since', 'last tuesday'], {
        GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
        GITHUB_APP_ID: '1',
        GITHUB_PRIVATE_KEY: keys.privateKey,
      });
      expect(since.status).toBe(2);
      expect(since.stderr).toMatch(/^shipgate: --since: /);
      expect(since.stderr).not.toContain('PRIVATE KEY');
    },
    SPAWN_TIMEOUT_MS,
  );

  describe('a partial deploy configuration stops the start with one line naming what is missing', () => {
    const ARGO = 'https://argocd.example';
    const TOKEN = 'argocd-token-0123456789abcdef';
    let dir: string;
    let app: Record<string, string>;
    beforeAll(() => {
      // A folder of its own: no .env from another test applies.
      dir = mkdtempSync(path.join(tmpdir(), 'shipgate-cli-deploy-'));
      writeFileSync(path.join(dir, 'key.pem'), keys.privateKey);
      writeFileSync(path.join(dir, 'no-cluster.kubeconfig'), 'apiVersion: v1\nkind: Config\nclusters: []\n');
      writeFileSync(path.join(dir, 'broken.kubeconfig'), 'token: s3cr3t-in-the-file\nclusters: [\n');
      app = {
        GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
        GITHUB_APP_ID: '77',
        GITHUB_PRIVATE_KEY_PATH: path.join(dir, 'key.pem'),
        ENV_REPO: 'acme/environments',
        HOST: '127.0.0.1',
        PORT: '0',
      };
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it.each([
      [
        'ARGOCD_SERVER without ARGOCD_TOKEN',
        'start',
        { ARGOCD_SERVER: ARGO },
        'ARGOCD_TOKEN: is required with ARGOCD_SERVER',
      ],
      [
        'ARGOCD_TOKEN without ARGOCD_SERVER',
        'work',
        { ARGOCD_TOKEN: TOKEN },
        'ARGOCD_SERVER: is required with ARGOCD_TOKEN',
      ],
      [
        'the token set as ARGOCD_AUTH_TOKEN, the argocd CLI name',
        'start',
        { ARGOCD_SERVER: ARGO, ARGOCD_AUTH_TOKEN: TOKEN },
        "ARGOCD_AUTH_TOKEN: is the argocd CLI's variable and Shipgate does not read it: put the token in ARGOCD_TOKEN",
      ],
      [
        'Argo CD without a kubeconfig for the Rollout gates',
        'start',
        { ARGOCD_SERVER: ARGO, ARGOCD_TOKEN: TOKEN },
        'KUBECONFIG: is required with ARGOCD_SERVER outside a cluster',
      ],
      [
        'a placeholder webhook secret',
        'serve',
        { GITHUB_WEBHOOK_SECRET: 'change-me' },
        'GITHUB_WEBHOOK_SECRET: is a placeholder (it contains "changeme")',
      ],
    ])(
      '%s: `shipgate %s` exits 2',
      (_what, command, extra, message) => {
        // Redis is unreachable on purpose: the refusal must come before anything is opened.
        const res = run([command], { ...app, REDIS_URL: 'redis://127.0.0.1:1', ...extra }, dir);
        expect(res.status, res.stderr).toBe(2);
        const lines = res.stderr.trim().split('\n');
        expect(lines, res.stderr).toHaveLength(1);
        expect(lines[0]!.startsWith(`shipgate: ${message}`), lines[0]).toBe(true);
        expect(res.stderr + res.stdout).not.toContain(TOKEN);
      },
      SPAWN_TIMEOUT_MS,
    );

    it.each([
      ['a kubeconfig with no cluster', 'no-cluster.kubeconfig', 'names no current cluster'],
      [
        'a kubeconfig that does not parse',
        'broken.kubeconfig',
        'is not a readable kubeconfig (YAMLException)',
      ],
    ])(
      '%s stops `work` before any job, without quoting the file',
      async (_what, file, message) => {
        const prefix = uniquePrefix('cli-kube');
        try {
          const kubeconfig = path.join(dir, file);
          const res = run(
            ['work'],
            {
              ...app,
              REDIS_URL: TEST_REDIS_URL,
              SHIPGATE_QUEUE_PREFIX: prefix,
              LOG_LEVEL: 'silent',
              ARGOCD_SERVER: ARGO,
              ARGOCD_TOKEN: TOKEN,
              KUBECONFIG: kubeconfig,
            },
            dir,
          );
          expect(res.status, res.stderr).toBe(2);
          expect(res.stderr.trim()).toBe(`shipgate: KUBECONFIG: ${kubeconfig} ${message}`);
          expect(res.stderr + res.stdout).not.toContain('s3cr3t-in-the-file');
        } finally {
          await deleteKeysWithPrefix(prefix);
        }
      },
      SPAWN_TIMEOUT_MS,
    );
  });

  describe('start with the embedded defaults', () => {
    let standIn: HookDeliveriesStandIn;
    let child: ChildProcess | undefined;
    beforeAll(async () => {
      standIn = await startHookDeliveriesStandIn({ appId: '77', publicKeyPem: keys.publicKey });
    });
    afterAll(async () => {
      // The whole group: Shipgate and its redis-server too, even when the test failed.
      killGroup(child);
      await standIn.close();
    });

    it('launches redis-server, takes webhooks, runs the redelivery sweep, and shuts down on SIGTERM', async () => {
      const port = await freePort();
      writeFileSync(path.join(cwd, 'key.pem'), keys.privateKey);
      // Secrets from .env, as in the README quick start; the environment wins over the file.
      writeFileSync(
        path.join(cwd, '.env'),
        `GITHUB_WEBHOOK_SECRET=dotenv-webhook-secret-0123\nGITHUB_APP_ID=77\nGITHUB_PRIVATE_KEY_PATH=${cwd}/key.pem\nPORT=1\n`,
      );
      // node --import tsx, not the tsx binary: a signal goes to Shipgate itself. tsx's wrapper
      // relays it and, when its child does not acknowledge within 30 ms (a loaded machine),
      // signals again and kills it, which is not the shutdown under test.
      const proc = spawnGroup(process.execPath, ['--import', TSX_LOADER, CLI, 'start'], {
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
      expect(readFileSync(urlFile, 'utf8')).toMatch(/^redis:\/\/(:[^@]+@)?127\.0\.0\.1:\d+/);

      const payload = JSON.parse(readFileSync(`${FIXTURES}/github/create-tag.json`, 'utf8')) as object;
      const d = await signedDelivery({ secret: 'dotenv-webhook-secret-0123', event: 'create', payload });
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
      expect(output).not.toContain('dotenv-webhook-secret-0123');
      expect(output).not.toContain('PRIVATE KEY');
      // Nothing of the group (node child, redis-server) outlives the shutdown.
      const goneDeadline = Date.now() + 5000;
      while (groupAlive(proc.pid!) && Date.now() < goneDeadline) await new Promise((r) => setTimeout(r, 50));
      expect(groupAlive(proc.pid!)).toBe(false);
    });
  });
});
