/**
 * Shipgate as `shipgate start` assembles it (HTTP with the console, BullMQ workers, an embedded
 * redis-server) in the demo's world: real git repos, the sandbox stand-ins of GitHub (with its
 * OAuth pages), Argo CD with a cluster and the Rollouts controller, and Slack. The platform
 * policy names the people the browser tests sign in as.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { addConnectionShutdown, openRuntime, type Runtime } from '../../../src/commands/runtime.js';
import { startHttp } from '../../../src/commands/start-http.js';
import { startWorkers } from '../../../src/commands/start-workers.js';
import { loadConfig } from '../../../src/config.js';
import { freePort } from '../../../src/redis/embedded-redis.js';
import { RunStore } from '../../../src/runs/run-store.js';
import type { Run } from '../../../src/runs/run-types.js';
import { createDemoWorld, git, POLICY, type DemoWorld } from '../../../sandbox/demo-world.js';
import { installFakeScanners, type FakeScanners } from '../../support/fake-scanners/install.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const FIXTURES = path.join(ROOT, 'test/fixtures');

/** The demo's people (sandbox/demo-world.ts: DEMO_OAUTH and the policy's access section). */
export const PEOPLE = {
  releaser: { login: 'releaser-gh' },
  approver: { login: 'approver-gh' },
  /** In team acme/sre: operator of staging and production. */
  operator: { login: 'operator-gh' },
  /** In org acme only: a viewer. */
  viewer: { login: 'viewer-gh' },
} as const;

/**
 * The demo's policy, with the releaser also an approver of production: the releaser rule,
 * not a missing role, is then what refuses their approval.
 */
export const CONSOLE_POLICY = POLICY.replace('users: [U0APPROVER]', 'users: [U0APPROVER, U0RELEASER]');

export interface ConsoleStack {
  base: string;
  world: DemoWorld;
  runs: RunStore;
  /** Pushes a release tag of the app repo's HEAD and delivers its signed webhook. */
  release(tag: string): Promise<void>;
  /** Resolves with the newest run that `match` picks once `done` holds for it. */
  waitForRun(match: (r: Run) => boolean, done: (r: Run) => boolean, timeoutMs?: number): Promise<Run>;
  close(): Promise<void>;
}

/** A GitHub payload from the recorded fixtures, retargeted at acme/web. */
function payload(file: string): Record<string, unknown> {
  const p = JSON.parse(readFileSync(path.join(FIXTURES, 'github', file), 'utf8')) as Record<string, unknown>;
  Object.assign(p.repository as object, {
    name: 'web',
    full_name: 'acme/web',
    owner: { ...((p.repository as { owner: object }).owner ?? {}), login: 'acme' },
    private: true,
  });
  p.installation = { id: 1001, node_id: 'MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u' };
  return p;
}

export async function startConsoleStack(): Promise<ConsoleStack> {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-console-e2e-'));
  // The sandboxed gates' unprivileged uid passes through this folder to reach their checkout.
  chmodSync(dir, 0o755);
  let world: DemoWorld | undefined;
  let runtime: Runtime | undefined;
  let scanners: FakeScanners | undefined;
  const originalPath = process.env.PATH;
  const close = async () => {
    await runtime?.shutdown.run('browser tests finished');
    await world?.close();
    scanners?.cleanup();
    process.env.PATH = originalPath;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    world = await createDemoWorld(path.join(dir, 'demo'));
    world.env.commit({ 'shipgate/policy.yml': CONSOLE_POLICY }, 'platform policy: console access');
    scanners = installFakeScanners();
    process.env.PATH = `${scanners.binDir}:${originalPath}`;
    scanners.configure({
      trivy: { fixture: path.join(FIXTURES, 'trivy/image-no-vulnerabilities.json') },
      zap: { fixture: path.join(FIXTURES, 'zap/baseline-zap2.14-medium-low-info.json') },
    });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const config = loadConfig(
      {
        ...world.shipgateEnv,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: process.env.SHIPGATE_TEST_LOG_LEVEL ?? 'silent',
        SHIPGATE_PUBLIC_URL: base,
      },
      'start',
    );
    runtime = await openRuntime(config, { embedRedis: true });
    await startHttp(runtime);
    const connections = await startWorkers(runtime, {
      engineTuning: {
        github: { spaceWrites: false },
        executor: {
          local: { mounts: [{ source: scanners.binDir, target: scanners.binDir, writable: true }] },
        },
      },
    });
    addConnectionShutdown(runtime, connections);
    const runs = new RunStore(runtime.producer, { prefix: `${config.queuePrefix}:runs` });
    const w = world;

    const deliver = async (event: string, body: unknown) => {
      const text = JSON.stringify(body);
      const res = await fetch(`${base}/webhooks/github`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'GitHub-Hookshot/browser-test',
          'x-github-event': event,
          'x-github-delivery': crypto.randomUUID(),
          'x-github-hook-id': '1',
          'x-github-hook-installation-target-id': '4242',
          'x-github-hook-installation-target-type': 'integration',
          'x-hub-signature-256': await sign(w.shipgateEnv.GITHUB_WEBHOOK_SECRET!, text),
        },
        body: text,
      });
      await res.arrayBuffer();
      if (res.status !== 202) throw new Error(`the ${event} webhook got HTTP ${res.status}`);
    };

    return {
      base,
      world: w,
      runs,
      async release(tag) {
        git(w.app.work, ['commit', '-q', '--allow-empty', '-m', `web: ${tag}`]);
        const sha = w.publishApp();
        git(w.app.work, ['tag', tag, sha]);
        git(w.app.work, ['push', '-q', 'origin', 'main', tag]);
        const p = payload('push-tag-created.docs-example.json');
        Object.assign(p, { ref: `refs/tags/${tag}`, after: sha, created: true, deleted: false });
        (p.sender as Record<string, unknown>).login = PEOPLE.releaser.login;
        await deliver('push', p);
      },
      async waitForRun(match, done, timeoutMs = 60_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const run = (await runs.listRuns({ limit: 50 })).runs.find(match);
          if (run && done(run)) return run;
          if (Date.now() > deadline) {
            throw new Error(
              `run not there in ${timeoutMs} ms (last: ${run ? `${run.state} ${run.reason ?? ''}` : 'none'})`,
            );
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
