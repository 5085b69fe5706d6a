import type { Octokit } from '@octokit/core';
import { getPullRequestState, openPullRequest } from '../github/pulls.js';
import type { PullRequestPort } from './write-env-path.js';

/** PR mode over the GitHub client: the env repo's `owner/name` and an installation Octokit. */
export function createGithubPullRequestPort(
  octokit: Octokit,
  envRepo: { owner: string; repo: string; deliveryId?: string },
): PullRequestPort {
  const target = {
    owner: envRepo.owner,
    repo: envRepo.repo,
    ...(envRepo.deliveryId ? { deliveryId: envRepo.deliveryId } : {}),
  };
  return {
    async open(input) {
      const pr = await openPullRequest(octokit, { ...target, ...input });
      return { number: pr.number, url: pr.url };
    },
    async state(number) {
      const s = await getPullRequestState(octokit, { ...target, number });
      return {
        state: s.merged ? 'merged' : s.state,
        mergeCommitSha: s.mergeCommitSha,
      };
    },
  };
}
