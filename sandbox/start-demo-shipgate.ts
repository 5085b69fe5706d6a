/**
 * Shipgate as `shipgate start` assembles it (HTTP ingress and console, BullMQ workers, an
 * embedded redis-server) against the demo's world, with Trivy and ZAP simulated. `shipgate demo`
 * (demo.ts) and the browser tests (test/browser/support/console-stack.ts) both run it so.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { sign } from '@octokit/webhooks-methods';
import { addConnectionShutdown, openRuntime, type Runtime } from '../src/commands/runtime.js';
import { startHttp } from '../src/commands/start-http.js';
import { startWorkers } from '../src/commands/start-workers.js';
import { loadConfig } from '../src/config.js';
import { freePort } from '../src/redis/embedded-redis.js';
import { RunStore } from '../src/runs/run-store.js';
import { installFakeScanners } from '../test/support/fake-scanners/install.js';
import type { DemoWorld } from './demo-world.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const FIXTURES = path.join(ROOT, 'test/fixtures');

export interface DemoShipgate {
  /** `http://127.0.0.1:<port>`, also its SHIPGATE_PUBLIC_URL. */
  base: string;
  runtime: Runtime;
  runs: RunStore;
  /** Shuts Shipgate down, removes the simulated scanners and restores PATH. */
  stop(reason: string): Promise<void>;
}

export async function startDemoShipgate(world: DemoWorld, logLevel: string): Promise<DemoShipgate> {
  const originalPath = process.env.PATH;
  const scanners = installFakeScanners();
  let runtime: Runtime | undefined;
  const stop = async (reason: string) => {
    await runtime?.shutdown.run(reason);
    scanners.cleanup();
    process.env.PATH = originalPath;
  };
  try {
    // Trivy and ZAP are simulated too: the local executor finds them first on PATH.
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
        LOG_LEVEL: logLevel,
        SHIPGATE_PUBLIC_URL: base,
      },
      'start',
    );
    runtime = await openRuntime(config, { embedRedis: true });
    await startHttp(runtime);
    // The stand-in needs no spacing of writes (GitHub asks for a second between them).
    // Gates run sandboxed: the simulated scanners record their calls beside themselves.
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
    return { base, runtime, runs, stop };
  } catch (err) {
    await stop('start-up failed');
    throw err;
  }
}

/** A GitHub payload from the recorded fixtures, retargeted at acme/web. */
export function demoPayload(file: string): Record<string, unknown> {
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

/** The push of release tag `tag` at `sha`, by `sender`, as GitHub delivers it. */
export function tagPushPayload(tag: string, sha: string, sender: string): Record<string, unknown> {
  const p = demoPayload('push-tag-created.docs-example.json');
  Object.assign(p, { ref: `refs/tags/${tag}`, after: sha, created: true, deleted: false });
  (p.sender as Record<string, unknown>).login = sender;
  return p;
}

/** Signs `body` with the world's webhook secret and POSTs it as GitHub would; returns the status. */
export async function deliverWebhook(
  base: string,
  world: DemoWorld,
  userAgent: string,
  event: string,
  body: unknown,
): Promise<number> {
  const text = JSON.stringify(body);
  const res = await fetch(`${base}/webhooks/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': userAgent,
      'x-github-event': event,
      'x-github-delivery': crypto.randomUUID(),
      'x-github-hook-id': '1',
      'x-github-hook-installation-target-id': '4242',
      'x-github-hook-installation-target-type': 'integration',
      'x-hub-signature-256': await sign(world.shipgateEnv.GITHUB_WEBHOOK_SECRET!, text),
    },
    body: text,
  });
  await res.arrayBuffer();
  return res.status;
}
