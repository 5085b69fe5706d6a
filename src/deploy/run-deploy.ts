/**
 * One environment's deploy, from "the manifests are committed" to Healthy or rolled back, as a
 * list of steps built from the environment's strategy and run by the orchestrator
 * (run-step-plan.ts). Any failed check rolls back the same way for every strategy: abort where
 * it applies, the revert commit, a sync to it, the deployment marked failed, a notification.
 */
import type { CheckFailure, CheckRecord } from './checks.js';
import { blueGreenSteps } from './blue-green-steps.js';
import { canarySteps } from './canary-steps.js';
import { rollingSteps } from './rolling-steps.js';
import { failedSteps, rollbackFacts } from './common-steps.js';
import { createDeployKit, type DeployKit } from './deploy-kit.js';
import { parseDeployInput } from './deploy-input.js';
import type { DeployPorts } from './ports.js';
import { runStepPlan } from './run-step-plan.js';
import { stepSpans } from '../telemetry/step-spans.js';
import type { Step, StepObserver, StepPlan } from './step-plan.js';

export type DeployResult =
  | { outcome: 'succeeded'; revision: string; gates: CheckRecord[] }
  | {
      outcome: 'rolled-back';
      gate: CheckFailure['gate'];
      reason: string;
      revertCommit: string;
      /** False when Argo CD did not confirm the sync to the revert in time (git is still reverted). */
      revertSynced: boolean;
      /** False when nothing was mid-update (nothing to abort), or it was already aborted. */
      aborted: boolean;
      gates: CheckRecord[];
    };

export interface RunDeployOptions {
  /** The deploy lock's lease and the worker's cancellation: every step stops when it aborts. */
  signal?: AbortSignal;
  /** How often to re-check Argo CD while waiting for a sync, and the longest quiet wait on the watch. @defaultValue 2000 */
  pollIntervalMs?: number;
  /** Sees every step start and end (tracing, metrics). */
  onStep?: StepObserver;
  /** How long the Application-health read may take before it counts as not checked. @defaultValue 20000 */
  applicationReadMs?: number;
}

/** The step list of one deploy. Exported so the docs, the PR check and tests can show it. */
export function deployPlan(kit: DeployKit): StepPlan {
  const { input } = kit;
  const steps: Step[] =
    input.strategy === 'canary'
      ? canarySteps(kit)
      : input.strategy === 'rolling'
        ? rollingSteps(kit)
        : blueGreenSteps(kit);
  return {
    // Scoped to the environment and revision: one run may deploy several environments, and a
    // rollback run deploys a different commit.
    scope: `deploy:${input.environment}:${input.revision.slice(0, 12)}`,
    steps,
    onFailure: failedSteps(kit),
    close: () => kit.close(),
  };
}

export async function runDeploy(
  rawInput: unknown,
  ports: DeployPorts,
  options: RunDeployOptions = {},
): Promise<DeployResult> {
  const input = parseDeployInput(rawInput);
  const kit = createDeployKit(
    input,
    ports,
    {
      pollMs: options.pollIntervalMs ?? 2_000,
      ...(options.applicationReadMs === undefined ? {} : { applicationReadMs: options.applicationReadMs }),
    },
    options.signal,
  );
  const plan = deployPlan(kit);
  const outcomeKey = `${plan.scope}:outcome`;
  const finished = (await ports.steps.result(outcomeKey)) as DeployResult | undefined;
  if (finished) return finished;

  const ran = await runStepPlan(plan, {
    ledger: ports.steps,
    now: () => ports.clock.now(),
    ...(options.signal ? { signal: options.signal } : {}),
    onStep: stepSpans({ 'shipgate.env': input.environment, 'shipgate.run': input.runId }, options.onStep),
    onBestEffortError: (step, err) =>
      kit.log?.error({ step, err: String(err) }, 'rollback step failed; going on'),
  });
  const records = kit.records({ outputs: ran.outputs });
  let result: DeployResult;
  if (ran.outcome === 'succeeded') {
    result = { outcome: 'succeeded', revision: input.revision, gates: records };
  } else {
    const gate = ran.failure.gate as CheckFailure['gate'];
    result = {
      outcome: 'rolled-back',
      gate,
      reason: ran.failure.reason,
      ...rollbackFacts({ outputs: ran.outputs }),
      gates: [...records, { gate, passed: false, summary: ran.failure.reason }],
    };
  }
  await ports.steps.save(outcomeKey, result);
  return result;
}
