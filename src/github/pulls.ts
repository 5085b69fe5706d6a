import type { Octokit } from '@octokit/core';
import { z } from 'zod';
import { GithubRequestRejected } from '../errors.js';
import { callGithub, parseGithubResponse } from './github-error.js';
import { findOrCreate } from './find-or-create.js';
import { correlation, type RepoTarget } from './repo-target.js';
import { PullRequestSchema, type PullRequest } from './schema.js';

export interface PullRequestRef {
  number: number;
  url: string;
  created: boolean;
}

/**
 * An open pull request from `head` into `base`, opened if there is none yet. `head` is a
 * branch of the same repository (or `owner:branch`). Retried jobs reuse the open PR.
 */
export async function openPullRequest(
  octokit: Octokit,
  target: RepoTarget & { head: string; base: string; title: string; body: string },
): Promise<PullRequestRef> {
  const { owner, repo, base, title, body, deliveryId } = target;
  const head = target.head.includes(':') ? target.head : `${owner}:${target.head}`;
  const listOp = 'GET /repos/{owner}/{repo}/pulls';
  const op = 'POST /repos/{owner}/{repo}/pulls';
  const findOpen = async (): Promise<PullRequest | undefined> => {
    const { data } = await callGithub(listOp, () =>
      octokit.request(listOp, { owner, repo, head, base, state: 'open', ...correlation(deliveryId) }),
    );
    return parseGithubResponse(listOp, z.array(PullRequestSchema), data)[0];
  };
  const { value, created } = await findOrCreate(octokit, findOpen, async () => {
    try {
      const { data } = await callGithub(op, () =>
        octokit.request(op, {
          owner,
          repo,
          head: target.head,
          base,
          title,
          body,
          maintainer_can_modify: false,
          ...correlation(deliveryId),
          request: { retries: 0 },
        }),
      );
      return parseGithubResponse(op, PullRequestSchema, data);
    } catch (err) {
      // Another worker opened it between our look and our create.
      if (GithubRequestRejected.is(err) && /already exists/i.test(err.message)) {
        const existing = await findOpen();
        if (existing) return existing;
      }
      throw err;
    }
  });
  return { number: value.number, url: value.html_url, created };
}

export interface PullRequestState {
  state: 'open' | 'closed';
  merged: boolean;
  mergeCommitSha: string | null;
}

export async function getPullRequestState(
  octokit: Octokit,
  target: RepoTarget & { number: number },
): Promise<PullRequestState> {
  const { owner, repo, number, deliveryId } = target;
  const op = 'GET /repos/{owner}/{repo}/pulls/{pull_number}';
  const { data } = await callGithub(op, () =>
    octokit.request(op, { owner, repo, pull_number: number, ...correlation(deliveryId) }),
  );
  const pr = parseGithubResponse(op, PullRequestSchema, data);
  const merged = pr.merged ?? Boolean(pr.merged_at);
  // Before a merge, merge_commit_sha is GitHub's test-merge commit; only report it once merged.
  return { state: pr.state, merged, mergeCommitSha: merged ? (pr.merge_commit_sha ?? null) : null };
}
