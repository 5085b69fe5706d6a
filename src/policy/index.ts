export { parsePolicy, POLICY_YAML_LIMITS, type PolicyResult } from './parse-policy.js';
export * from './schema.js';
export { evaluateRepoAccess, matchRepoPatterns, type RepoAccessDecision } from './repo-access.js';
export {
  grantForRepo,
  resolveDeployTarget,
  type DeployTarget,
  type DeployTargetDecision,
} from './deploy-target.js';
export { isReleaseTag } from './release-tag.js';
export {
  approvalRequirement,
  approvalsSatisfied,
  evaluateApprover,
  type ApprovalRequirement,
  type ApproverCandidate,
  type ApproverDecision,
} from './approval.js';
export { activeFreeze, freezeAt, type FreezeDecision } from './freeze-windows.js';
export { forkPullRequestPolicy, slackUserForGithubLogin } from './identities.js';
export {
  hostMatches,
  mergeEffectiveSettings,
  type DroppedSetting,
  type EffectiveEnvironment,
  type EffectiveSettings,
  type EffectiveSettingsResult,
} from './effective-settings.js';
export { createPolicyCache, type PolicyCache, type PolicyCacheOptions } from './policy-cache.js';
export { policyJsonSchema } from './json-schema.js';
