import type { ManifestSource, PipelineConfig, ZapSettings } from '../pipeline/schema.js';
import { type ApprovalRequirement, approvalRequirement } from './approval.js';
import { type DeployTarget, grantForRepo, resolveDeployTarget } from './deploy-target.js';
import { evaluateRepoAccess } from './repo-access.js';
import type { ForkPullRequestPolicy, Policy } from './schema.js';

export interface EffectiveEnvironment {
  name: string;
  manifests: ManifestSource;
  zap: { path: string };
  target: DeployTarget;
  approval: ApprovalRequirement;
}

export interface DroppedSetting {
  /** YAML path in `.shipgate.yml` of what was not granted (`environments[1]`, `scan.zap.target`). */
  setting: string;
  reason: string;
}

export interface EffectiveSettings {
  repo: string;
  app: string;
  releaseTagPattern: string;
  forkPullRequests: ForkPullRequestPolicy;
  test: PipelineConfig['test'];
  scan: { trivy: PipelineConfig['scan']['trivy']; zap: ZapSettings };
  /** In the pipeline's promotion order, only those the policy grants this repo. */
  environments: EffectiveEnvironment[];
  /** What the pipeline asked for and the policy did not grant, with why: for the run log and checks. */
  dropped: DroppedSetting[];
}

export type EffectiveSettingsResult =
  { allowed: true; settings: EffectiveSettings } | { allowed: false; reason: string };

/**
 * Combines an app's pipeline with the platform policy. The pipeline can only narrow: an
 * environment is kept when the policy grants it to this repo, and where, how and who approves
 * always come from the policy. A repo the allowlist refuses gets nothing (no run at all).
 */
export function mergeEffectiveSettings(
  pipeline: PipelineConfig,
  policy: Policy,
  repoFullName: string,
): EffectiveSettingsResult {
  const access = evaluateRepoAccess(policy, repoFullName);
  if (!access.allowed) return { allowed: false, reason: access.reason };

  const dropped: DroppedSetting[] = [];
  const grant = grantForRepo(policy, repoFullName);
  const environments: EffectiveEnvironment[] = [];

  const appMismatch = grant !== undefined && grant.app !== pipeline.app;
  pipeline.environments.forEach((env, index) => {
    const setting = `environments[${index}]`;
    if (!grant) {
      dropped.push({ setting, reason: `${repoFullName} has no deploy grant in the policy; only checks run` });
      return;
    }
    if (appMismatch) {
      dropped.push({
        setting,
        reason: `.shipgate.yml names the app "${pipeline.app}", but the policy grants ${repoFullName} the app "${grant.app}"`,
      });
      return;
    }
    const target = resolveDeployTarget(policy, repoFullName, env.name);
    if (!target.allowed) {
      dropped.push({ setting, reason: target.reason });
      return;
    }
    const { allowed: _allowed, ...deployTarget } = target;
    environments.push({
      name: env.name,
      manifests: pipeline.manifests[env.name]!,
      zap: env.zap,
      target: deployTarget,
      approval: approvalRequirement(policy, env.name),
    });
  });

  let zap = pipeline.scan.zap;
  if (zap.target !== undefined) {
    const host = new URL(zap.target).hostname.toLowerCase();
    if (!policy.zap.pullRequestTargetHosts.some((pattern) => hostMatches(pattern, host))) {
      dropped.push({
        setting: 'scan.zap.target',
        reason: `the policy does not allow ZAP scans of ${host} (zap.pullRequestTargetHosts); pull requests get no ZAP scan`,
      });
      const { target: _target, ...rest } = zap;
      zap = rest;
    }
  }

  return {
    allowed: true,
    settings: {
      repo: repoFullName,
      // The policy's name wins: paths, namespaces and commit trailers must agree with the grant.
      app: grant?.app ?? pipeline.app,
      releaseTagPattern: policy.releaseTagPattern,
      forkPullRequests: policy.forkPullRequests,
      test: pipeline.test,
      scan: { trivy: pipeline.scan.trivy, zap },
      environments,
      dropped,
    },
  };
}

/** `*.example.com` matches any subdomain of example.com (not example.com itself); otherwise exact. */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return host === pattern;
}
