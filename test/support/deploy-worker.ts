/**
 * A deploy worker in a process of its own, for the kill -9 tests (issue #15): it runs
 * `runDeploy` with the real clients (Shipgate's Argo CD client, the Kubernetes watch through
 * @kubernetes/client-node, the GitOps writer's revert against the real env repo, the step
 * ledger in real Redis) pointed at the stand-ins the parent test runs, and SIGKILLs itself at a
 * chosen point: right after a step completes (its result is in the ledger), or inside a step
 * right after a side effect got through and before the ledger records it.
 *
 * The side effects the deploy hands to ports with no stand-in of their own (deployment
 * statuses, notifications, ZAP scans, reverts) are appended, one JSON line each, to a log file
 * the parent reads: an append survives the SIGKILL of its writer, so the parent counts every
 * call, including those of a killed process.
 *
 * Start it with `runDeployWorker` (through tsx's loader); the configuration travels in the
 * `SHIPGATE_TEST_DEPLOY_WORKER` variable as JSON.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { DeployInput } from '../../src/deploy/deploy-input.js';
import type { DeployEvent, DeployPorts, StepStore } from '../../src/deploy/ports.js';
import type { StepEvent } from '../../src/deploy/step-plan.js';
import type { RedisClient } from '../../src/redis/connection.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const CONFIG_VAR = 'SHIPGATE_TEST_DEPLOY_WORKER';

/**
 * Where the worker kills itself:
 * - `{ after: 'done' | 'failed', step }`: as soon as the orchestrator reports that step done
 *   (recorded in the ledger) or failed (a check's verdict, before it is recorded);
 * - `{ inside: 'revert' | 'sync' | 'resume' | 'abort', call }`: right after the `call`-th
 *   (1-based) revert push or Argo CD sync / Rollout action of this process returned, before
 *   the step or its `once` recorded it;
 * - `{ during, afterMs }`: `afterMs` after this process started the step `during`.
 */
export type KillPoint =
  | { after: 'done' | 'failed'; step: string; phase?: 'forward' | 'rollback' }
  | { inside: 'revert' | 'sync' | 'resume' | 'abort'; call?: number }
  | { during: string; afterMs: number };

export interface DeployWorkerConfig {
  input: DeployInput;
  argocd: { url: string; token: string };
  kubeconfigPath: string;
  envRepo: { url: string; workDir: string; path: string };
  redisUrl: string;
  /** Key prefix of the run's step ledger (the harness's `stepsPrefix`). */
  stepsPrefix: string;
  /** The JSON-lines log of port calls (see `readPortLog`). */
  logFile: string;
  /** What the ZAP port answers. */
  zap: { passed: boolean; summary: string };
  pollIntervalMs: number;
  killAt?: KillPoint;
}

export type PortCall =
  | { port: 'status'; state: string; description: string }
  | { port: 'notify'; event: DeployEvent }
  | { port: 'zap'; url: string }
  | { port: 'revert'; badCommit: string; gate: string }
  | { port: 'step'; event: Pick<StepEvent, 'type' | 'step' | 'phase'>; at: number; pid: number }
  | { port: 'result'; result: unknown };

/** The run's step ledger in Redis, keyed as the harness and the run store key it. */
export function redisSteps(redis: RedisClient, prefix: string): StepStore {
  return {
    claim: async (k) => (await redis.set(`${prefix}:claim:${k}`, '1', 'NX')) === 'OK',
    result: async (k) => {
      const v = await redis.hget(`${prefix}:results`, k);
      return v === null ? undefined : (JSON.parse(v) as unknown);
    },
    save: async (k, v) => {
      await redis.hset(`${prefix}:results`, k, JSON.stringify(v));
    },
  };
}

export interface DeployWorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

const running = new Set<ChildProcess>();

/**
 * Runs one worker to its end (exit or kill) and says how it ended. A worker still running
 * after `timeoutMs` is SIGKILLed and the call throws with its output.
 */
export async function runDeployWorker(
  config: DeployWorkerConfig,
  timeoutMs = 60_000,
): Promise<DeployWorkerExit> {
  const loader = pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
  const child = spawn(process.execPath, ['--import', loader, fileURLToPath(import.meta.url)], {
    cwd: ROOT,
    env: { ...process.env, [CONFIG_VAR]: JSON.stringify(config) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c, s) => resolve([c, s]));
    });
    if (timedOut)
      throw new Error(`deploy worker still running after ${timeoutMs} ms:\n${output.slice(-4000)}`);
    return { code, signal, output };
  } finally {
    clearTimeout(timer);
    running.delete(child);
  }
}

/** For afterEach: no worker outlives its test. */
export function killDeployWorkers(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

async function main(config: DeployWorkerConfig): Promise<void> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const { createArgoCdClient } = await import('../../src/argocd/argocd-client.js');
  const { runDeploy } = await import('../../src/deploy/run-deploy.js');
  const { createKubeDeploymentSource } = await import('../../src/deploy/watch-deployment.js');
  const { createKubeRolloutSource } = await import('../../src/deploy/watch-rollout.js');
  const { GitCli } = await import('../../src/git/git-cli.js');
  const { revertAppEnv } = await import('../../src/gitops/revert-app-env.js');
  const { createRedisConnection } = await import('../../src/redis/connection.js');

  const log = (call: PortCall) => appendFileSync(config.logFile, `${JSON.stringify(call)}\n`);
  const kill = config.killAt;
  const die = (): never => {
    process.kill(process.pid, 'SIGKILL');
    // SIGKILL to oneself is delivered before the call returns; this line is never reached.
    throw new Error('unreachable');
  };
  const calls = new Map<string, number>();
  /** After a side effect got through: dies when this is the chosen call. */
  const afterEffect = (what: 'revert' | 'sync' | 'resume' | 'abort') => {
    const n = (calls.get(what) ?? 0) + 1;
    calls.set(what, n);
    if (kill && 'inside' in kill && kill.inside === what && (kill.call ?? 1) === n) die();
  };

  const redis = createRedisConnection(config.redisUrl, 'worker');
  const kc = new KubeConfig();
  kc.loadFromFile(config.kubeconfigPath);
  const client = createArgoCdClient({
    server: config.argocd.url,
    token: config.argocd.token,
    retries: 2,
    backoffBaseMs: 20,
    timeoutMs: 2_000,
  });
  const gitops = { git: new GitCli(), remote: { url: config.envRepo.url }, workDir: config.envRepo.workDir };
  const ports: DeployPorts = {
    argocd: {
      getApplication: client.getApplication.bind(client),
      watchApplication: client.watchApplication.bind(client),
      sync: async (...args) => {
        const r = await client.sync(...args);
        afterEffect('sync');
        return r;
      },
      rolloutAction: async (app, ref, action, ...rest) => {
        const r = await client.rolloutAction(app, ref, action, ...rest);
        if (action === 'resume' || action === 'abort') afterEffect(action);
        return r;
      },
    },
    rolloutSource: createKubeRolloutSource(kc, { backoffMs: 20, maxBackoffMs: 200 }),
    deploymentSource: createKubeDeploymentSource(kc, { backoffMs: 20, maxBackoffMs: 200 }),
    zap: (url) => {
      log({ port: 'zap', url });
      return Promise.resolve(config.zap);
    },
    revert: async (reason) => {
      log({ port: 'revert', badCommit: reason.badCommit, gate: reason.gate });
      const r = await revertAppEnv(gitops, {
        path: config.envRepo.path,
        badCommit: reason.badCommit,
        runId: reason.runId,
        reason: `${reason.gate}: ${reason.reason}`,
        app: reason.app,
        env: reason.environment,
      });
      afterEffect('revert');
      return { commitSha: r.commit! };
    },
    deploymentStatus: (state, description) => {
      log({ port: 'status', state, description });
      return Promise.resolve();
    },
    steps: redisSteps(redis, config.stepsPrefix),
    notify: (event) => {
      log({ port: 'notify', event });
      return Promise.resolve();
    },
    clock: { now: () => Date.now() },
  };
  const result = await runDeploy(config.input, ports, {
    pollIntervalMs: config.pollIntervalMs,
    onStep: (event) => {
      if (event.type === 'error') return;
      log({
        port: 'step',
        event: { type: event.type, step: event.step, phase: event.phase },
        at: Date.now(),
        pid: process.pid,
      });
      if (kill && 'during' in kill && event.type === 'start' && event.step === kill.during) {
        setTimeout(die, kill.afterMs);
      }
      if (
        kill &&
        'after' in kill &&
        kill.after === event.type &&
        kill.step === event.step &&
        (kill.phase === undefined || kill.phase === event.phase)
      ) {
        die();
      }
    },
  });
  log({ port: 'result', result });
  client.close();
  redis.disconnect();
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const raw = process.env[CONFIG_VAR];
  if (raw === undefined) {
    process.stderr.write(`${CONFIG_VAR} is not set\n`);
    process.exit(2);
  }
  main(JSON.parse(raw) as DeployWorkerConfig).then(
    // The watches keep sockets open for a moment; the deploy is over.
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
