/**
 * Shipgate as `shipgate start` assembles it (HTTP with the console, BullMQ workers, an embedded
 * redis-server) in the demo's world: real git repos, the sandbox stand-ins of GitHub (with its
 * OAuth pages), Argo CD with a cluster and the Rollouts controller, and Slack. The platform
 * policy names the people the browser tests sign in as.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { RunStore } from '../../../src/runs/run-store.js';
import type { Run } from '../../../src/runs/run-types.js';
import { createDemoWorld, git, POLICY, type DemoWorld } from '../../../sandbox/demo-world.js';
import {
  deliverWebhook,
  startDemoShipgate,
  tagPushPayload,
  type DemoShipgate,
} from '../../../sandbox/start-demo-shipgate.js';

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

export async function startConsoleStack(): Promise<ConsoleStack> {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-console-e2e-'));
  // The sandboxed gates' unprivileged uid passes through this folder to reach their checkout.
  chmodSync(dir, 0o755);
  let world: DemoWorld | undefined;
  let shipgate: DemoShipgate | undefined;
  const close = async () => {
    await shipgate?.stop('browser tests finished');
    await world?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    world = await createDemoWorld(path.join(dir, 'demo'));
    world.env.commit({ 'shipgate/policy.yml': CONSOLE_POLICY }, 'platform policy: console access');
    shipgate = await startDemoShipgate(world, process.env.SHIPGATE_TEST_LOG_LEVEL ?? 'silent');
    const { base, runs } = shipgate;
    const w = world;

    const deliver = async (event: string, body: unknown) => {
      const status = await deliverWebhook(base, w, 'GitHub-Hookshot/browser-test', event, body);
      if (status !== 202) throw new Error(`the ${event} webhook got HTTP ${status}`);
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
        await deliver('push', tagPushPayload(tag, sha, PEOPLE.releaser.login));
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
