import type { ForkPullRequestPolicy, Policy } from './schema.js';

/** The Slack user id the policy maps a GitHub login to (case-insensitive), or null. */
export function slackUserForGithubLogin(policy: Policy, login: string): string | null {
  const lower = login.toLowerCase();
  for (const [name, slackUserId] of Object.entries(policy.identities)) {
    if (name.toLowerCase() === lower) return slackUserId;
  }
  return null;
}

/**
 * What a pull request from a fork may run. `none` (the default): no run and no checks, because
 * a fork's code and config are written by anyone. `checks-only`: static checks that execute none
 * of the fork's code (Trivy fs, the manifest diff); the test command never runs.
 */
export function forkPullRequestPolicy(policy: Policy): ForkPullRequestPolicy {
  return policy.forkPullRequests;
}
