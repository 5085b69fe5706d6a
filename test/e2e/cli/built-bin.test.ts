import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, copyFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/redis/embedded-redis.js';
import { RunStore } from '../../../src/runs/run-store.js';
import { killGroup, spawnGroup } from '../../support/process-group.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../../support/redis.js';

/**
 * The CLI as a user runs it: compiled with the build config into a temp folder (the `bin` of
 * package.json, `dist/src/cli.js`), run with node, with only the environment each case sets.
 */
const ROOT = path.resolve(import.meta.dirname, '../../..');
const TOKEN = 'cli-bin-test-api-token-0123456789';
let build: string;
let cli: string;

beforeAll(() => {
  build = mkdtempSync(path.join(tmpdir(), 'shipgate-bin-'));
  execFileSync(
    path.join(ROOT, 'node_modules/.bin/tsc'),
    ['-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', path.join(build, 'dist')],
    { stdio: 'pipe', timeout: 600_000 },
  );
  copyFileSync(path.join(ROOT, 'package.json'), path.join(build, 'package.json'));
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(build, 'node_modules'));
  symlinkSync(path.join(ROOT, 'schemas'), path.join(build, 'schemas'));
  cli = path.join(build, 'dist/src/cli.js');
}, 660_000);
afterAll(() => rmSync(build, { recursive: true, force: true }));

function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(GITHUB_|REDIS_URL|SHIPGATE_|SLACK_|ARGOCD_|PORT$|HOST$|LOG_LEVEL)/.test(k),
    ),
  );
  return { ...env, ...extra };
}

function shipgate(args: string[], env: Record<string, string> = {}) {
  const res = spawnSync(process.execPath, [cli, ...args], {
    cwd: build,
    env: cleanEnv(env),
    encoding: 'utf8',
    // Generous: on a loaded two-core machine one start of the CLI has taken 30 s.
    timeout: 120_000,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

/** One line on stderr, no stack frames. */
function expectOneLine(stderr: string) {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(stderr).not.toMatch(/^\s+at /m);
}

describe('the built shipgate bin', { timeout: 600_000 }, () => {
  it('prints its version', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const res = shipgate([flag]);
      expect(res.code).toBe(0);
      expect(res.stdout.trim()).toBe(pkg.version);
    }
  });

  it('lists every command, and each one’s --help has its usage and an example', () => {
    const top = shipgate(['--help']);
    expect(top.code).toBe(0);
    const names = ['start', 'serve', 'work', 'runs', 'status', 'approve', 'rollback', 'redeliver'];
    for (const name of names) {
      expect(top.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
      const res = shipgate([name, '--help']);
      expect(res.code, name).toBe(0);
      expect(res.stdout).toMatch(new RegExp(`^Usage: shipgate ${name}`));
      expect(res.stdout).toMatch(/^Examples?:\n {2}.*shipgate /m);
    }
    expect(shipgate(['status', '--help']).stdout).toMatch(/^ {2}--watch +follow the run/m);
    expect(shipgate(['help', 'rollback']).stdout).toContain('--to <tag|sha>');
  });

  it('answers an unknown command or flag with one line and exit code 2', () => {
    const unknown = shipgate(['deploy']);
    expect(unknown.code).toBe(2);
    expectOneLine(unknown.stderr);
    expect(unknown.stderr).toContain('shipgate --help');
    const flag = shipgate(['runs', '--colour']);
    expect(flag.code).toBe(2);
    expectOneLine(flag.stderr);
    expect(flag.stderr).toMatch(/^shipgate: Unknown option '--colour'.*usage: shipgate runs/);
  });

  it('says the server is not running, in one line, when nothing listens', async () => {
    const port = await freePort();
    const env = { SHIPGATE_API_TOKEN: TOKEN, PORT: String(port) };
    const expected = `shipgate: cannot reach Shipgate at http://127.0.0.1:${port}: is \`shipgate serve\``;
    for (const args of [
      ['approve', '01JD6X5RZQ8M9V4T2K7N3P0A1B', 'production', '--as', 'U0123ALICE'],
      ['runs'],
      ['status', '01JD6X5RZQ8M9V4T2K7N3P0A1B'],
    ]) {
      const res = shipgate(args, env);
      expect(res.code, args[0]).toBe(1);
      expectOneLine(res.stderr);
      expect(res.stderr.startsWith(expected), res.stderr).toBe(true);
      expect(res.stderr).not.toContain('fetch failed');
    }
    // --debug adds the underlying cause's stack.
    const debug = shipgate(['runs', '--debug'], env);
    expect(debug.stderr.startsWith(expected)).toBe(true);
    expect(debug.stderr).toMatch(/^\s+at /m);
  });

  it('needs the API token for API commands, and says so in one line', () => {
    const res = shipgate(['runs']);
    expect(res.code).toBe(2);
    expectOneLine(res.stderr);
    expect(res.stderr).toMatch(/^shipgate: SHIPGATE_API_TOKEN: is required for shipgate runs/);
  });

  it('says which port is taken when serve cannot listen', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as { port: number };
    try {
      const res = shipgate(['serve'], {
        GITHUB_WEBHOOK_SECRET: 'a-long-enough-webhook-secret-for-tests',
        REDIS_URL: TEST_REDIS_URL,
        SHIPGATE_QUEUE_PREFIX: uniquePrefix('cli-port'),
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
      });
      expect(res.code).toBe(1);
      expectOneLine(res.stderr);
      expect(res.stderr).toBe(
        `shipgate: port ${port} on 127.0.0.1 is already in use: stop what listens there, or set PORT to a free port (SHIPGATE_E_PORT_IN_USE)\n`,
      );
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  describe('against a running server', { timeout: 600_000 }, () => {
    const prefix = uniquePrefix('cli-bin');
    let server: ChildProcess | undefined;
    let redis: Redis;
    let store: RunStore;
    let env: Record<string, string>;

    beforeAll(async () => {
      const port = await freePort();
      env = { SHIPGATE_API_TOKEN: TOKEN, SHIPGATE_URL: `http://127.0.0.1:${port}` };
      server = spawnGroup(process.execPath, [cli, 'serve'], {
        cwd: build,
        env: cleanEnv({
          GITHUB_WEBHOOK_SECRET: 'a-long-enough-webhook-secret-for-tests',
          REDIS_URL: TEST_REDIS_URL,
          SHIPGATE_QUEUE_PREFIX: prefix,
          SHIPGATE_API_TOKEN: TOKEN,
          PORT: String(port),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
        }),
        stdio: 'ignore',
      });
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const ok = await fetch(`${env.SHIPGATE_URL}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
      store = new RunStore(redis, { prefix: `${prefix}:runs` });
    }, 60_000);

    afterAll(async () => {
      killGroup(server);
      redis?.disconnect();
      await deleteKeysWithPrefix(prefix);
    });

    async function createRun(tag: string) {
      const { run } = await store.createRun(
        {
          kind: 'release',
          repo: 'acme/web',
          installationId: 1,
          sha: 'a'.repeat(40),
          ref: `refs/tags/${tag}`,
          tag,
          releaser: 'octocat',
        },
        { idempotencyKey: `release:acme/web:${tag}:${prefix}` },
      );
      return run;
    }

    it('lists runs with filters', async () => {
      const first = await createRun('v1.0.0');
      const second = await createRun('v1.1.0');
      await store.transition(second.id, { from: 'queued', to: 'gating' });
      const all = shipgate(['runs'], env);
      expect(all.code, all.stderr).toBe(0);
      expect(all.stdout).toMatch(/^RUN +KIND +REPO +WHAT +STATE +ENV +UPDATED$/m);
      expect(all.stdout.indexOf(second.id)).toBeLessThan(all.stdout.indexOf(first.id));
      const gating = shipgate(['runs', '--state', 'gating'], env);
      expect(gating.stdout).toContain(second.id);
      expect(gating.stdout).not.toContain(first.id);
      const json = JSON.parse(shipgate(['runs', '--limit', '1', '--json'], env).stdout) as {
        runs: { id: string }[];
        nextCursor: string | null;
      };
      expect(json.runs.map((r) => r.id)).toEqual([second.id]);
      expect(json.nextCursor).not.toBeNull();
      const bad = shipgate(['runs', '--state', 'sleeping'], env);
      expect(bad.code).toBe(1);
      expectOneLine(bad.stderr);
      expect(bad.stderr).toMatch(
        /^shipgate: listing runs failed \(HTTP 400\): .*SHIPGATE_E_RUNS_QUERY_INVALID/,
      );
      const missing = shipgate(['status', '01JD6X5RZQ8M9V4T2K7N3P0A1B'], env);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/HTTP 404.*SHIPGATE_E_RUN_NOT_FOUND/);
    });

    it('follows a run live with status --watch and exits 0 when it succeeds', async () => {
      const run = await createRun('v2.0.0');
      const watcher = spawnGroup(process.execPath, [cli, 'status', run.id, '--watch', '--interval', '0.2'], {
        cwd: build,
        env: cleanEnv(env),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      watcher.stdout?.on('data', (c: Buffer) => (out += c.toString()));
      watcher.stderr?.on('data', (c: Buffer) => (out += c.toString()));
      const exited = new Promise<number | null>((resolve) => watcher.once('exit', resolve));
      try {
        const until = async (text: string) => {
          const deadline = Date.now() + 15_000;
          while (!out.includes(text) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
          expect(out).toContain(text);
        };
        await until('State: queued');
        await store.transition(run.id, { from: 'queued', to: 'gating' });
        await until('→ gating');
        await store.appendEvent(run.id, { type: 'gate', message: 'shipgate/tests passed' });
        await until('shipgate/tests passed');
        await store.transition(run.id, { from: 'gating', to: 'succeeded' });
        expect(await exited).toBe(0);
        expect(out).toContain(`Run ${run.id} succeeded.`);
      } finally {
        killGroup(watcher);
      }
    });
  });
});
