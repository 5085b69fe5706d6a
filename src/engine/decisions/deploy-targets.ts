import type { DeployStrategy } from '../../deploy/strategies.js';
import type { EnvironmentTarget, ManifestSource } from '../../gitops/types.js';
import type { PipelineConfig } from '../../pipeline/index.js';
import { resolveDeployTarget, type Policy } from '../../policy/index.js';

export interface PlannedEnvironment {
  target: EnvironmentTarget;
  source: ManifestSource;
  /** Policy settings the deploy needs besides the GitOps target. */
  mode: 'direct' | 'pr';
  /** `.shipgate.yml`'s strategy, within what the policy allows. */
  strategy: DeployStrategy;
}

export interface EnvironmentPlan {
  environments: PlannedEnvironment[];
  /** Environments of `.shipgate.yml` the policy does not grant, with why. */
  refused: { env: string; reason: string }[];
}

/**
 * The environments a run may touch, in promotion order: those `.shipgate.yml` lists AND the
 * platform policy grants to the repo. Path, namespace and rules come from the policy only, so
 * an app repo can never widen its own rights.
 */
export function planEnvironments(pipeline: PipelineConfig, policy: Policy, repo: string): EnvironmentPlan {
  const plan: EnvironmentPlan = { environments: [], refused: [] };
  for (const env of pipeline.environments) {
    const decision = resolveDeployTarget(policy, repo, env.name);
    if (!decision.allowed) {
      plan.refused.push({ env: env.name, reason: decision.reason });
      continue;
    }
    if (decision.app !== pipeline.app) {
      plan.refused.push({
        env: env.name,
        reason: `.shipgate.yml names app "${pipeline.app}" but the policy grants "${decision.app}" to ${repo}`,
      });
      continue;
    }
    const source = pipeline.manifests[env.name];
    if (source === undefined) continue;
    // The policy bounds the strategy: an environment that must be blue-green stays so (no
    // canary, no rolling Deployment).
    if (env.strategy !== 'blueGreen' && decision.requireBlueGreen) {
      plan.refused.push({
        env: env.name,
        reason: `.shipgate.yml asks for ${env.strategy}, but the platform policy requires blueGreen in ${env.name}`,
      });
      continue;
    }
    plan.environments.push({
      target: {
        app: decision.app,
        env: env.name,
        path: decision.path,
        namespace: decision.namespace,
        requireBlueGreen: decision.requireBlueGreen,
        // '*' lets every cluster-scoped kind through; the policy grants all or none.
        allowClusterScoped: decision.allowClusterScoped ? ['*'] : [],
      },
      source: source.kind === 'kustomize' ? { kustomize: source.path } : { directory: source.path },
      mode: decision.mode,
      strategy: env.strategy,
    });
  }
  return plan;
}
