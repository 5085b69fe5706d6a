import { callGithub } from '../../github/github-error.js';
import type { GithubOctokit } from '../../github/index.js';

/**
 * The commit a tag points at. `create` deliveries carry no sha; annotated tags point at a tag
 * object first, which points at the commit.
 */
export async function resolveTagCommit(
  octokit: GithubOctokit,
  target: { owner: string; repo: string; tag: string },
): Promise<string> {
  const ref = await callGithub('GET /repos/{owner}/{repo}/git/ref/{ref}', () =>
    octokit.request('GET /repos/{owner}/{repo}/git/ref/{ref}', {
      owner: target.owner,
      repo: target.repo,
      ref: `tags/${target.tag}`,
    }),
  );
  const object = ref.data.object as { sha: string; type: string };
  if (object.type !== 'tag') return object.sha;
  const tag = await callGithub('GET /repos/{owner}/{repo}/git/tags/{tag_sha}', () =>
    octokit.request('GET /repos/{owner}/{repo}/git/tags/{tag_sha}', {
      owner: target.owner,
      repo: target.repo,
      tag_sha: object.sha,
    }),
  );
  return (tag.data.object as { sha: string }).sha;
}
