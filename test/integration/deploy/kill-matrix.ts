/**
 * The kill -9 matrix of issue #15: a deploy worker (test/support/deploy-worker.ts, a process of
 * its own) SIGKILLed at a step boundary, then a new worker resuming the same run (same run id,
 * same step ledger), must end where an uninterrupted run ends: the same env-repo history and
 * the same side effects counted at the stand-ins.
 *
 * The boundaries come from the plan itself (`deployPlan`), so a step added to a strategy adds a
 * case. A rollback path's boundaries are the forward steps up to the failing check, then the
 * compensations in the order the orchestrator runs them, then the plan's `onFailure` steps.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { createDeployKit } from '../../../src/deploy/deploy-kit.js';
import { parseDeployInput, type DeployInput } from '../../../src/deploy/deploy-input.js';
import type { DeployPorts } from '../../../src/deploy/ports.js';
import { deployPlan, type DeployResult } from '../../../src/deploy/run-deploy.js';
import type { DeployStrategy } from '../../../src/deploy/strategies.js';
import {
  runDeployWorker,
  type DeployWorkerConfig,
  type KillPoint,
  type PortCall,
} from '../../support/deploy-worker.js';
import { TEST_REDIS_URL } from '../../support/redis.js';
import {
  APP,
  CANARY_ROLLOUT,
  ENV_PATH,
  startDeployHarness,
  type Harness,
  type Scenario,
} from './deploy-harness.js';

export type DeployPath = 'success' | 'rollback';

export const CANARY_URL = 'http://web-canary.web-production.svc';

/** The failing check of each strategy's rollback path, and the scenario that fails it. */
const ROLLBACK: Record<DeployStrategy, { failing: string; scenario: Partial<Scenario> }> = {
  // Pre-promotion analysis fails during the blue-green pause: abort, revert.
  blueGreen: { failing: 'pre-promotion-analysis', scenario: { pre: 'Failed' } },
  // The inline analysis fails at step 2 of 4: the Rollout is already at 25%.
  canary: { failing: 'canary-2-pause', scenario: { canary: { stepAnalysis: { 3: 'Failed' } } } },
  // The new pods cannot be created: a degraded Deployment, revert (nothing to abort).
  rolling: { failing: 'deployment-progress', scenario: { rolling: { outcome: 'replica-failure' } } },
};

export function scenarioFor(strategy: DeployStrategy, path: DeployPath): Partial<Scenario> {
  const base: Partial<Scenario> =
    strategy === 'canary' ? { canary: {} } : strategy === 'rolling' ? { rolling: {} } : {};
  return path === 'success' ? base : { ...base, ...ROLLBACK[strategy].scenario };
}

export function inputFor(
  strategy: DeployStrategy,
  base: (overrides?: Partial<DeployInput>) => DeployInput,
  stepDeadlineSeconds = 60,
): DeployInput {
  if (strategy === 'canary') {
    return base({
      strategy: 'canary',
      canary: {
        steps: CANARY_ROLLOUT.spec.strategy.canary.steps as Record<string, unknown>[],
        serviceUrl: CANARY_URL,
        stepDeadlineSeconds,
      },
    });
  }
  if (strategy === 'rolling') return base({ strategy: 'rolling', previewUrl: undefined });
  return base();
}

/** Every step boundary of a strategy's path, in the order an uninterrupted run crosses them. */
export function boundaries(strategy: DeployStrategy, path: DeployPath): KillPoint[] {
  const input = inputFor(strategy, (overrides = {}) => ({
    runId: 'run-plan',
    app: 'web',
    environment: 'production',
    revision: 'a'.repeat(40),
    sourceCommit: 'b'.repeat(40),
    argocd: { application: APP },
    rollout: { namespace: 'web-production', name: 'web' },
    previewUrl: 'http://web-preview.web-production.svc',
    ...overrides,
  }));
  // Building a plan calls no port; the steps only close over them.
  const plan = deployPlan(createDeployKit(parseDeployInput(input), {} as DeployPorts, { pollMs: 25 }));
  if (path === 'success') {
    return plan.steps.map((s) => ({ after: 'done', step: s.name, phase: 'forward' }));
  }
  const { failing } = ROLLBACK[strategy];
  const at = plan.steps.findIndex((s) => s.name === failing);
  if (at < 0) throw new Error(`${strategy} has no step ${failing}`);
  const ran = plan.steps.slice(0, at + 1);
  const rollback = [...ran.reverse().flatMap((s) => s.compensation ?? []), ...plan.onFailure];
  return [
    ...plan.steps.slice(0, at).map((s): KillPoint => ({ after: 'done', step: s.name, phase: 'forward' })),
    { after: 'failed', step: failing, phase: 'forward' },
    ...rollback.map((s): KillPoint => ({ after: 'done', step: s.name, phase: 'rollback' })),
  ];
}

/** The in-step kills: after a side effect got through, before the ledger records it. */
export function insideKills(strategy: DeployStrategy, path: DeployPath): KillPoint[] {
  const kills: KillPoint[] = [{ inside: 'sync', call: 1 }];
  if (path === 'success' && strategy !== 'rolling') kills.push({ inside: 'resume', call: 1 });
  if (path === 'rollback') {
    kills.push({ inside: 'revert', call: 1 }, { inside: 'sync', call: 2 });
    if (strategy === 'blueGreen') kills.push({ inside: 'abort', call: 1 });
  }
  return kills;
}

export const describeKill = (k: KillPoint): string =>
  'during' in k
    ? `${k.afterMs} ms into ${k.during}`
    : 'after' in k
      ? `${k.after === 'failed' ? 'fails' : 'after'} ${k.step} (${k.phase})`
      : `inside: ${k.inside} #${k.call ?? 1} sent`;

/** What a finished deploy left behind, with the run's own shas and ids made comparable. */
export interface Observed {
  /** Newest first: normalised message, author and the files of the app's env path. */
  history: { message: string; author: string; files: Record<string, string> }[];
  /** Argo CD sync requests, by normalised revision. */
  syncs: string[];
  actions: string[];
  statuses: string[];
  notifications: string[];
  zapCalls: number;
  revertCalls: number;
  result: unknown;
  /** How each worker ended ('SIGKILL' or the exit code). */
  exits: string[];
  /** What the orchestrator reported, every worker's, in order. */
  steps: Extract<PortCall, { port: 'step' }>[];
}

/** Changes to a case's world (see `runKilledDeploy`). */
export interface CaseTweak {
  scenario?: Partial<Scenario>;
  /** Canary: from one pause to the next. @defaultValue 60 */
  stepDeadlineSeconds?: number;
  /** The deploy's progress deadline. @defaultValue 60 (the harness's) */
  progressDeadlineSeconds?: number;
  /** How long Argo CD's sync operations stay Running (so a resumed worker finds one in flight). */
  syncDelayMs?: number;
}

export interface CaseRun {
  observed: Observed;
  harness: Harness;
}

/** The result without what varies from run to run (the seconds to spare in a summary). */
function comparable(result: DeployResult): unknown {
  const gates = result.gates.map((g) => `${g.gate}: ${g.passed ? 'passed' : 'failed'}`);
  if (result.outcome === 'succeeded') return { outcome: result.outcome, revision: result.revision, gates };
  const { outcome, gate, reason, revertCommit, revertSynced, aborted } = result;
  return { outcome, gate, reason, revertCommit, revertSynced, aborted, gates };
}

async function observe(h: Harness, log: PortCall[], exits: string[]): Promise<Observed> {
  const messages = await h.repo.messages();
  const names = new Map<string, string>([
    [h.goodCommit, 'GOOD'],
    [h.releaseCommit, 'RELEASE'],
  ]);
  for (const m of messages) if (!names.has(m.sha)) names.set(m.sha, `COMMIT${names.size}`);
  const normalise = (text: string): string => {
    let out = text.replaceAll(h.runId, 'RUN');
    for (const [sha, name] of names) out = out.replaceAll(sha, name).replaceAll(sha.slice(0, 12), name);
    return out;
  };
  const history: Observed['history'] = [];
  for (const m of messages) {
    const files: Record<string, string> = {};
    for (const f of await h.repo.list(m.sha, ENV_PATH)) {
      files[f] = normalise((await h.repo.show(m.sha, `${ENV_PATH}/${f}`)) ?? '');
    }
    const author = (await h.repo.git(['log', '-1', '--format=%an <%ae> / %cn <%ce>', m.sha])).trim();
    history.push({ message: normalise(m.message), author, files });
  }
  const result = log.filter((c) => c.port === 'result').at(-1);
  return {
    history,
    syncs: h.argo.syncs.map((s) => normalise(s.body.revision as string)),
    actions: h.argo.actions.map((a) => a.body.action as string),
    statuses: log.flatMap((c) => (c.port === 'status' ? [`${c.state}: ${normalise(c.description)}`] : [])),
    notifications: log.flatMap((c) => (c.port === 'notify' ? [c.event.type] : [])),
    zapCalls: log.filter((c) => c.port === 'zap').length,
    revertCalls: log.filter((c) => c.port === 'revert').length,
    result: result
      ? comparable(JSON.parse(normalise(JSON.stringify(result.result))) as DeployResult)
      : undefined,
    exits,
    steps: log.flatMap((c) => (c.port === 'step' ? [c] : [])),
  };
}

/**
 * One deploy of `strategy` on `path`: a worker killed at each of `kills` in turn (each resuming
 * the last one's run), then a worker that finishes it. Returns what it left behind; the harness
 * is closed by the caller (`closeCase`).
 */
export async function runKilledDeploy(
  strategy: DeployStrategy,
  path_: DeployPath,
  kills: readonly KillPoint[],
  onHarness: (h: Harness) => void,
  tweak: CaseTweak = {},
): Promise<Observed> {
  const h = await startDeployHarness({ ...scenarioFor(strategy, path_), ...tweak.scenario });
  onHarness(h);
  if (tweak.syncDelayMs !== undefined) h.argo.onSync(APP, { delayMs: tweak.syncDelayMs });
  const dir = await mkdtemp(path.join(tmpdir(), 'shipgate-kill9-'));
  try {
    const logFile = path.join(dir, 'ports.jsonl');
    const config: DeployWorkerConfig = {
      input: {
        ...inputFor(strategy, h.input, tweak.stepDeadlineSeconds),
        ...(tweak.progressDeadlineSeconds === undefined
          ? {}
          : { progressDeadlineSeconds: tweak.progressDeadlineSeconds }),
      },
      argocd: { url: h.argo.url, token: h.argo.token },
      kubeconfigPath: h.kube.kubeconfigPath,
      envRepo: { url: h.repo.url, workDir: h.repo.workDir, path: ENV_PATH },
      redisUrl: TEST_REDIS_URL,
      stepsPrefix: h.stepsPrefix,
      logFile,
      zap: h.scenario.zap,
      pollIntervalMs: 25,
    };
    const exits: string[] = [];
    for (const killAt of kills) {
      const exit = await runDeployWorker({ ...config, killAt });
      exits.push(exit.signal ?? String(exit.code));
      // The kill point must exist on this path: a worker that finished instead fails the case.
      expect(exit.signal, `worker meant to die ${describeKill(killAt)}:\n${exit.output.slice(-3000)}`).toBe(
        'SIGKILL',
      );
    }
    const last = await runDeployWorker(config);
    exits.push(last.signal ?? String(last.code));
    expect(last.code, `the resuming worker:\n${last.output.slice(-3000)}`).toBe(0);
    const log = (await readFile(logFile, 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as PortCall);
    return await observe(h, log, exits);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A killed-and-resumed deploy against an uninterrupted one of the same strategy and path: the
 * same env-repo history (commits, trailers, files), one sync per commit where the
 * uninterrupted run had one, the same Rollout actions (at most one abort), the same deployment
 * statuses and notifications, each once.
 */
export function expectSameEnd(killed: Observed, reference: Observed, racyAbort = false): void {
  expect(killed.history).toEqual(reference.history);
  expect(killed.syncs).toEqual(reference.syncs);
  expect(killed.actions.filter((a) => a !== 'abort')).toEqual(reference.actions.filter((a) => a !== 'abort'));
  // The controller may abort a failed canary itself; Shipgate adds at most one.
  expect(killed.actions.filter((a) => a === 'abort').length).toBeLessThanOrEqual(1);
  expect(killed.statuses).toEqual(reference.statuses);
  expect(killed.notifications).toEqual(reference.notifications);
  expect(killed.zapCalls).toBe(reference.zapCalls);
  if (!racyAbort) {
    expect(killed.result).toEqual(reference.result);
    return;
  }
  // A failed canary analysis aborts the Rollout in the controller too: whether Shipgate's abort
  // came first varies from run to run, so `aborted` may too.
  expect({ ...(killed.result as object), aborted: undefined }).toEqual({
    ...(reference.result as object),
    aborted: undefined,
  });
}
