/**
 * Plays Argo CD's "apply" and the Kubernetes Deployment controller for the rolling strategy,
 * on top of the Argo CD and Kubernetes API stand-ins: a successful sync applies the Deployment
 * read from the synced env-repo commit (`deployment-<name>.yaml`); the controller then rolls
 * it out one surge at a time, writing what the real one writes: `observedGeneration`,
 * `replicas`/`updatedReplicas`/`readyReplicas`/`availableReplicas`, and the conditions
 * Progressing (ReplicaSetUpdated → NewReplicaSetAvailable, or ProgressDeadlineExceeded once
 * `spec.progressDeadlineSeconds` passes without progress), Available and ReplicaFailure.
 * Argo CD's health of the Application follows, as Argo CD derives it from the Deployment.
 *
 * Scenarios: `complete`; `replica-failure` (the new ReplicaSet cannot create pods: quota);
 * `stall` (the new pods never become available, so the deadline passes).
 */
import { createHash } from 'node:crypto';
import type { ArgoCdStandIn } from './argocd-stand-in.js';
import { applyInNamespace, applySyncedManifests, laterUnlessClosed } from './controller-sim-kit.js';
import type { KubeObject, KubeStandIn } from './kube-api-stand-in.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface DeploymentEnvironment {
  /** Argo CD Application name (`<app>-<env>`). */
  application: string;
  namespace: string;
  /** Env-repo folder the Application syncs. */
  path: string;
  deployment: string;
}

export interface DeploymentScenario {
  /** What the next rollouts of a new pod template do. @defaultValue 'complete' */
  outcome: 'complete' | 'replica-failure' | 'stall';
  /** Time between two controller steps. @defaultValue 20 */
  stepMs: number;
}

export interface DeploymentControllerSim {
  scenario: DeploymentScenario;
  /** Puts `manifest` in the cluster as the rolled-out, available version of `application`. */
  seedAvailable(application: string, manifest: Json): void;
  /** Images the Deployment of `application` finished rolling out, in order. */
  rolledOutImages(application: string): string[];
}

const templateHash = (template: unknown) =>
  createHash('sha1').update(JSON.stringify(template)).digest('hex').slice(0, 10);
const now = () => new Date().toISOString();

export function simulateDeploymentController(options: {
  kube: KubeStandIn;
  argo: ArgoCdStandIn;
  environments: readonly DeploymentEnvironment[];
  readFile(revision: string, file: string): Promise<string | undefined>;
  scenario?: Partial<DeploymentScenario>;
}): DeploymentControllerSim {
  const { kube, argo } = options;
  const scenario: DeploymentScenario = { outcome: 'complete', stepMs: 20, ...options.scenario };
  const byApp = new Map(options.environments.map((e) => [e.application, e]));
  const rolledOut = new Map<string, string[]>();
  /** The pod template hash each Deployment is rolling out now; a newer one stops the older loop. */
  const current = new Map<string, string>();

  const later = (fn: () => void, ms = scenario.stepMs) => laterUnlessClosed(fn, ms);

  const get = (env: DeploymentEnvironment) => kube.get('deployments', env.namespace, env.deployment);
  const patch = (env: DeploymentEnvironment, status: Json) =>
    kube.patchStatus('deployments', env.namespace, env.deployment, status);
  const health = (env: DeploymentEnvironment, status: string, message?: string) =>
    argo.mutateApplication(env.application, (app) => {
      app.status.health = { status, ...(message ? { message } : {}) };
    });
  const image = (d: Json) => d.spec.template.spec.containers[0].image as string;

  function availableStatus(d: KubeObject, hash: string): Json {
    const replicas = ((d.spec as Json).replicas as number | undefined) ?? 1;
    return {
      observedGeneration: d.metadata.generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      unavailableReplicas: 0,
      conditions: [
        {
          type: 'Available',
          status: 'True',
          reason: 'MinimumReplicasAvailable',
          message: 'Deployment has minimum availability.',
          lastUpdateTime: now(),
          lastTransitionTime: now(),
        },
        {
          type: 'Progressing',
          status: 'True',
          reason: 'NewReplicaSetAvailable',
          message: `ReplicaSet "${d.metadata.name}-${hash}" has successfully progressed.`,
          lastUpdateTime: now(),
          lastTransitionTime: now(),
        },
      ],
    };
  }

  function finish(env: DeploymentEnvironment, d: KubeObject, hash: string) {
    patch(env, availableStatus(d, hash));
    rolledOut.set(env.application, [...(rolledOut.get(env.application) ?? []), image(d as Json)]);
    health(env, 'Healthy');
  }

  /** One surge at a time (maxSurge 1, maxUnavailable 0): new pod ready → one old pod gone. */
  function rollOut(env: DeploymentEnvironment, hash: string, outcome: DeploymentScenario['outcome']) {
    const start = Date.now();
    const progressing = (d: KubeObject, reason: string, message: string, status = 'True') => ({
      type: 'Progressing',
      status,
      reason,
      message,
      lastUpdateTime: now(),
      lastTransitionTime: now(),
    });
    const available = {
      type: 'Available',
      status: 'True',
      reason: 'MinimumReplicasAvailable',
      message: 'Deployment has minimum availability.',
    };
    const step = (updated: number) =>
      later(() => {
        const d = get(env);
        if (!d || current.get(env.application) !== hash) return;
        const desired = ((d.spec as Json).replicas as number | undefined) ?? 1;
        const rs = `${d.metadata.name}-${hash}`;
        if (outcome === 'replica-failure') {
          patch(env, {
            observedGeneration: d.metadata.generation,
            replicas: desired,
            updatedReplicas: 0,
            availableReplicas: desired,
            conditions: [
              available,
              progressing(d, 'ReplicaSetUpdated', `ReplicaSet "${rs}" is progressing.`),
              {
                type: 'ReplicaFailure',
                status: 'True',
                reason: 'FailedCreate',
                message: `pods "${rs}-" is forbidden: exceeded quota: compute-resources, requested: limits.memory=256Mi, used: limits.memory=1Gi, limited: limits.memory=1Gi`,
                lastUpdateTime: now(),
                lastTransitionTime: now(),
              },
            ],
          });
          return;
        }
        if (outcome === 'stall') {
          const deadlineMs = (((d.spec as Json).progressDeadlineSeconds as number | undefined) ?? 600) * 1000;
          if (Date.now() - start < deadlineMs) {
            // One new pod, never ready: the rollout cannot take the next step.
            patch(env, {
              observedGeneration: d.metadata.generation,
              replicas: desired + 1,
              updatedReplicas: 1,
              readyReplicas: desired,
              availableReplicas: desired,
              unavailableReplicas: 1,
              conditions: [
                available,
                progressing(d, 'ReplicaSetUpdated', `ReplicaSet "${rs}" is progressing.`),
              ],
            });
            later(() => step(1), Math.min(deadlineMs, 100));
            return;
          }
          patch(env, {
            conditions: [
              available,
              progressing(
                d,
                'ProgressDeadlineExceeded',
                `ReplicaSet "${rs}" has timed out progressing.`,
                'False',
              ),
            ],
          });
          health(env, 'Degraded', `Deployment "${d.metadata.name}" exceeded its progress deadline`);
          return;
        }
        if (updated >= desired) {
          finish(env, d, hash);
          return;
        }
        patch(env, {
          observedGeneration: d.metadata.generation,
          replicas: desired + 1,
          updatedReplicas: updated + 1,
          readyReplicas: desired,
          availableReplicas: desired,
          unavailableReplicas: 1,
          conditions: [available, progressing(d, 'ReplicaSetUpdated', `ReplicaSet "${rs}" is progressing.`)],
        });
        step(updated + 1);
      });
    health(
      env,
      'Progressing',
      `Waiting for rollout to finish: 0 out of ${desiredOf(env)} new replicas have been updated...`,
    );
    step(0);
  }

  const desiredOf = (env: DeploymentEnvironment) =>
    ((get(env)?.spec as Json | undefined)?.replicas as number | undefined) ?? 1;

  applySyncedManifests({
    kube,
    argo,
    environments: options.environments,
    readFile: options.readFile,
    file: (env) => `deployment-${env.deployment}.yaml`,
    current: get,
    applied(env, manifest, previous, stored) {
      const hash = templateHash(manifest.spec.template);
      if (previous !== undefined && JSON.stringify(previous.spec) === JSON.stringify(stored.spec)) return;
      current.set(env.application, hash);
      // A revert goes back to a template the cluster ran well: it always completes.
      const known = (rolledOut.get(env.application) ?? []).includes(image(manifest));
      // Argo CD reports the sync before the controller has looked: health follows in rollOut.
      later(() => rollOut(env, hash, known ? 'complete' : scenario.outcome), 0);
    },
  });

  return {
    scenario,
    rolledOutImages: (application) => rolledOut.get(application) ?? [],
    seedAvailable(application, manifest) {
      const env = byApp.get(application)!;
      const stored = applyInNamespace(kube, manifest, env.namespace);
      const hash = templateHash(manifest.spec.template);
      current.set(application, hash);
      finish(env, stored, hash);
    },
  };
}
