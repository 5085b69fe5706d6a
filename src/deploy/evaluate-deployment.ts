/**
 * Decides how far the rollout of one plain Kubernetes Deployment got (the rolling strategy),
 * from the Deployment's status and Argo CD's health of the Application, with the exact strings
 * the Deployment controller writes: conditions Progressing (reason ProgressDeadlineExceeded
 * once `spec.progressDeadlineSeconds` passes without progress), Available, ReplicaFailure;
 * `observedGeneration`; replicas, updatedReplicas, availableReplicas. The order of the replica
 * checks is `kubectl rollout status`'s (and Argo CD's Deployment health), so Shipgate, kubectl
 * and the Argo CD UI agree on when a rollout is done. Pure: no I/O, time comes in as `now`.
 */
import type { CheckName } from './checks.js';
import type { Deployment } from './schema.js';

export type DeploymentVerdict =
  | { stage: 'waiting'; reason: string }
  | { stage: 'healthy'; summary: string }
  | { stage: 'failed'; gate: CheckName; reason: string };

export interface EvaluateDeploymentOptions {
  /** Epoch milliseconds. */
  now: number;
  /** Epoch milliseconds after which a Deployment still rolling out fails the progress-deadline check. */
  deadlineAt?: number;
  /** Argo CD's health of the Application the Deployment belongs to, when known. */
  appHealth?: { status?: string | undefined; message?: string | undefined } | undefined;
}

function condition(deployment: Deployment, type: string) {
  return deployment.status?.conditions.find((c) => c.type === type);
}

/** False while the controller has not reconciled the latest spec: the status describes the previous one. */
export function isDeploymentObserved(deployment: Deployment): boolean {
  const generation = deployment.metadata.generation;
  const observed = deployment.status?.observedGeneration;
  if (generation === undefined) return true;
  return observed !== undefined && observed >= generation;
}

/** Why the rollout is not done yet, or undefined when every desired replica is updated and available. */
function progress(deployment: Deployment): string | undefined {
  const s = deployment.status;
  const desired = deployment.spec?.replicas ?? 1;
  const updated = s?.updatedReplicas ?? 0;
  const replicas = s?.replicas ?? 0;
  const available = s?.availableReplicas ?? 0;
  if (updated < desired) return `${updated} of ${desired} new replicas updated`;
  if (replicas > updated) return `${replicas - updated} old replicas pending termination`;
  if (available < updated) return `${available} of ${updated} updated replicas available`;
  return undefined;
}

export function evaluateDeployment(
  deployment: Deployment,
  options: EvaluateDeploymentOptions,
): DeploymentVerdict {
  const name = deployment.metadata.name;
  const observed = isDeploymentObserved(deployment);
  if (observed) {
    // The controller's own deadline (`spec.progressDeadlineSeconds`): it stops progressing and
    // says so; nothing Shipgate waits longer for will change that.
    const progressing = condition(deployment, 'Progressing');
    if (progressing?.reason === 'ProgressDeadlineExceeded') {
      const seconds = deployment.spec?.progressDeadlineSeconds ?? 600;
      return {
        stage: 'failed',
        gate: 'progress-deadline',
        reason: `Deployment ${name} exceeded its progress deadline (${seconds}s): ${progressing.message ?? 'ProgressDeadlineExceeded'}`,
      };
    }
    const failure = condition(deployment, 'ReplicaFailure');
    if (failure?.status === 'True') {
      return {
        stage: 'failed',
        gate: 'deployment-degraded',
        reason: `Deployment ${name} is Degraded: ${failure.reason ?? 'ReplicaFailure'}: ${failure.message ?? 'no message'}`,
      };
    }
  }
  // Argo CD sees every resource of the Application, not only this Deployment.
  if (options.appHealth?.status === 'Degraded') {
    return {
      stage: 'failed',
      gate: 'application-health',
      reason: `Argo CD reports the Application Degraded: ${options.appHealth.message ?? 'no message'}`,
    };
  }
  let waiting: string | undefined;
  if (!observed) waiting = 'the Deployment controller has not observed the new spec yet';
  else if (deployment.spec?.paused === true) waiting = `Deployment ${name} is paused`;
  else waiting = progress(deployment);
  if (waiting === undefined) {
    const replicas = deployment.spec?.replicas ?? 1;
    return {
      stage: 'healthy',
      summary: `Deployment ${name}: ${replicas} of ${replicas} replicas updated and available`,
    };
  }
  if (options.deadlineAt !== undefined && options.now > options.deadlineAt) {
    const seconds = Math.round((options.now - options.deadlineAt) / 1000);
    return {
      stage: 'failed',
      gate: 'progress-deadline',
      reason: `Deployment ${name} not rolled out before the deploy deadline (${seconds}s over; ${waiting})`,
    };
  }
  return { stage: 'waiting', reason: waiting };
}
