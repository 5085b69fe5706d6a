import { assertRefName, ScratchRepo } from '../git/scratch-repo.js';
import type { EnvRepoOptions } from './write-env-path.js';

/** Opens a scratch copy of the env repo's branch (shallow, partial) for reading, then removes it. */
export async function openEnvRepo<T>(
  options: EnvRepoOptions,
  fn: (repo: ScratchRepo, branch: string, tip: string | null) => Promise<T>,
): Promise<T> {
  const branch = options.branch ?? 'main';
  assertRefName(branch);
  const filter = options.filter === null ? undefined : (options.filter ?? 'blob:none');
  const repo = await ScratchRepo.open(options.git, options.workDir, options.remote, filter);
  try {
    const tip = await repo.fetchBranch(branch, options.lookback ?? 50);
    return await fn(repo, branch, tip);
  } finally {
    await repo.close();
  }
}
