import { z } from 'zod';

/** The part of GitHub's compare response the lead time needs. */
const CompareSchema = z.object({
  total_commits: z.number().int().nonnegative(),
  commits: z.array(
    z.object({
      sha: z.string(),
      commit: z.object({
        author: z.object({ date: z.iso.datetime() }).nullable(),
        committer: z.object({ date: z.iso.datetime() }).nullable(),
      }),
    }),
  ),
});

/** What the lead time asks of GitHub: `GET /repos/{owner}/{repo}/compare/{base}...{head}`. */
export type CompareRequest = (route: string, params: Record<string, string>) => Promise<{ data: unknown }>;

/**
 * When the first commit of a release was made: the earliest author date among the commits
 * between the previous release tag and this one (GitHub's compare API). Undefined when there is
 * no previous tag or no commit between them.
 */
export async function firstCommitTime(
  request: CompareRequest,
  repo: { owner: string; repo: string },
  previousTag: string | undefined,
  tag: string,
): Promise<Date | undefined> {
  if (previousTag === undefined) return undefined;
  const { data } = await request('GET /repos/{owner}/{repo}/compare/{basehead}', {
    ...repo,
    basehead: `${previousTag}...${tag}`,
  });
  const compare = CompareSchema.parse(data);
  let first: number | undefined;
  for (const c of compare.commits) {
    const date = c.commit.author?.date ?? c.commit.committer?.date;
    if (date === undefined) continue;
    const ms = Date.parse(date);
    if (first === undefined || ms < first) first = ms;
  }
  return first === undefined ? undefined : new Date(first);
}
