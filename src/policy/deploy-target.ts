import { evaluateRepoAccess } from './repo-access.js';
import type { DeployMode, Policy, RepoGrant } from './schema.js';

export interface DeployTarget {
  repo: string;
  app: string;
  environment: string;
  /** Normalised folder in the env repo that the GitOps writer may write, and nothing else. */
  path: string;
  namespace: string;
  mode: DeployMode;
  requireBlueGreen: boolean;
  allowClusterScoped: boolean;
}

export type DeployTargetDecision = ({ allowed: true } & DeployTarget) | { allowed: false; reason: string };

/** The grant for a repo, matched case-insensitively like GitHub names. */
export function grantForRepo(policy: Policy, repoFullName: string): RepoGrant | undefined {
  const lower = repoFullName.toLowerCase();
  for (const [name, grant] of Object.entries(policy.repos.grants)) {
    if (name.toLowerCase() === lower) return grant;
  }
  return undefined;
}

/** Where and how `repoFullName` may deploy to `environment`, decided by the policy alone. */
export function resolveDeployTarget(
  policy: Policy,
  repoFullName: string,
  environment: string,
): DeployTargetDecision {
  const access = evaluateRepoAccess(policy, repoFullName);
  if (!access.allowed) return { allowed: false, reason: access.reason };
  const grant = grantForRepo(policy, repoFullName);
  if (!grant) {
    return {
      allowed: false,
      reason: `${repoFullName} may run checks but has no deploy grant under repos.grants`,
    };
  }
  const envGrant = Object.hasOwn(grant.environments, environment)
    ? grant.environments[environment]
    : undefined;
  const envPolicy = Object.hasOwn(policy.environments, environment)
    ? policy.environments[environment]
    : undefined;
  if (!envGrant || !envPolicy) {
    const granted = Object.keys(grant.environments);
    return {
      allowed: false,
      reason:
        `${repoFullName} is not granted the environment "${environment}"` +
        (granted.length > 0 ? ` (granted: ${granted.join(', ')})` : ' (no environments granted)'),
    };
  }
  return {
    allowed: true,
    repo: repoFullName,
    app: grant.app,
    environment,
    path: envGrant.path,
    namespace: envGrant.namespace ?? envPolicy.namespace,
    mode: envPolicy.mode,
    requireBlueGreen: envPolicy.requireBlueGreen,
    allowClusterScoped: envPolicy.allowClusterScoped,
  };
}
