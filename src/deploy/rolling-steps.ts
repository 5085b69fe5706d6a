/**
 * rolling: a plain Kubernetes Deployment, no Argo Rollouts. Argo CD applies the commit and the
 * Deployment controller replaces the pods by its own `strategy.rollingUpdate`; Shipgate watches
 * its progress (conditions, observedGeneration, updated and available replicas, the
 * controller's `progressDeadlineSeconds`) and Argo CD's health. There is nothing to abort: a
 * failure rolls back with the revert commit and the sync to it, like every strategy.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { applicationHealthStep, commitStep, startedStep, succeededSteps, syncStep } from './common-steps.js';
import type { DeployKit } from './deploy-kit.js';
import { evaluateDeployment } from './evaluate-deployment.js';
import type { Step, StepContext, StepOutcome } from './step-plan.js';

export function rollingSteps(kit: DeployKit): Step[] {
  return [
    startedStep(kit),
    commitStep(kit),
    syncStep(kit, { abort: false }),
    {
      name: 'deployment-progress',
      check: true,
      inputs: ['started'],
      outputs: ['record'],
      run: (ctx) => watchDeploymentUntilRolledOut(kit, ctx),
    },
    applicationHealthStep(kit),
    ...succeededSteps(kit),
  ];
}

/**
 * Re-evaluates on every change of the Deployment or of the Application (level triggered: a
 * restart or a dropped watch changes nothing) until the rollout is done or has failed.
 */
async function watchDeploymentUntilRolledOut(kit: DeployKit, ctx: StepContext): Promise<StepOutcome> {
  const { input, ports } = kit;
  const { deadlineAt } = kit.deadline(ctx);
  const ref = `${input.rollout.namespace}/${input.rollout.name}`;
  const deployments = await kit.deploymentWatch(ctx.signal);
  const app = ports.argocd.watchApplication(input.argocd.application, kit.scope);
  try {
    for (;;) {
      ctx.signal.throwIfAborted();
      const { version, deployment } = deployments.snapshot();
      const appSeen = app.snapshot();
      const now = ports.clock.now();
      if (deployment === undefined) {
        if (now > deadlineAt) {
          return {
            failure: { gate: 'progress-deadline', reason: `Deployment ${ref} not found before the deadline` },
          };
        }
      } else {
        const verdict = evaluateDeployment(deployment, {
          now,
          deadlineAt,
          appHealth: appSeen.application?.status?.health,
        });
        if (verdict.stage === 'failed') return { failure: { gate: verdict.gate, reason: verdict.reason } };
        if (verdict.stage === 'healthy') {
          return {
            output: { record: { gate: 'deployment-progress', passed: true, summary: verdict.summary } },
          };
        }
      }
      // Whichever changes first; the other wait is cancelled with the round.
      const round = new AbortController();
      const signal = AbortSignal.any([ctx.signal, round.signal]);
      try {
        await Promise.race([
          deployments.next(version, kit.pollMs, signal),
          // Argo CD's health is a second opinion: while it is unreachable, the Deployment decides.
          app
            .next(appSeen.version, kit.pollMs, signal)
            .catch(() => sleep(kit.pollMs, undefined, { signal }).catch(() => undefined)),
        ]);
      } finally {
        round.abort();
      }
    }
  } finally {
    app.close();
  }
}
