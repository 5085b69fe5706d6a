import { afterEach, describe, expect, it } from 'vitest';
import { createEnvRepoPolicySource } from '../../../src/engine/context/env-repo.js';
import { GitCli, type GitResult, type GitRunOptions } from '../../../src/git/git-cli.js';
import { ScratchRepo } from '../../../src/git/scratch-repo.js';
import { createEnvRepo, type EnvRepo } from '../../support/env-repo.js';
import { POLICY } from '../../support/shipgate-harness.js';

/** The real git, with the subcommand of every call written down (to tell a check from a fetch). */
class RecordingGit extends GitCli {
  readonly commands: string[] = [];
  override run(args: readonly string[], options: GitRunOptions): Promise<GitResult> {
    const subcommand = args.find((a, i) => !a.startsWith('-') && args[i - 1] !== '-c')!;
    this.commands.push(subcommand === 'fetch' && args.includes('--stdin') ? 'fetch blobs' : subcommand);
    return super.run(args, options);
  }
  take(): string[] {
    return this.commands.splice(0);
  }
}

const repos: EnvRepo[] = [];
afterEach(async () => {
  for (const r of repos.splice(0)) await r.cleanup();
});

async function setUp() {
  const envRepo = await createEnvRepo({ initial: { 'shipgate/policy.yml': POLICY } });
  repos.push(envRepo);
  const git = new RecordingGit();
  let clock = 1_000_000;
  const source = createEnvRepoPolicySource(
    { git, remote: { url: envRepo.url }, workDir: envRepo.workDir },
    10_000,
    () => clock,
  );
  return { envRepo, git, source, advance: (ms: number) => (clock += ms) };
}

describe('the env-repo policy source', () => {
  it('fetches once, then within its ttl answers without git, and after it checks the tip with one ls-remote', async () => {
    const { envRepo, git, source, advance } = await setUp();
    const first = await source.current();
    expect(first.commit).toBe(await envRepo.head());
    expect(first.policy.environments.production?.approval?.required).toBe(1);
    expect(git.take()).toContain('fetch');

    advance(9_000);
    expect((await source.current()).commit).toBe(first.commit);
    expect(git.take()).toEqual([]);

    advance(2_000);
    const again = await source.current();
    expect(again).toEqual(first);
    expect(git.take()).toEqual(['ls-remote']);
  });

  it('reads the new policy once the branch moved, and only then fetches', async () => {
    const { envRepo, git, source, advance } = await setUp();
    await source.current();
    git.take();
    const moved = await envRepo.commitFiles(
      { 'shipgate/policy.yml': POLICY.replace("releaseTagPattern: 'v*'", "releaseTagPattern: 'release-*'") },
      'releases are tagged release-*',
    );
    // Within the ttl the known tip still answers: a policy change takes effect within 10 s.
    expect((await source.current()).commit).not.toBe(moved);

    advance(10_001);
    const next = await source.current();
    expect(next.commit).toBe(moved);
    expect(next.policy.releaseTagPattern).toBe('release-*');
    const commands = git.take();
    expect(commands[0]).toBe('ls-remote');
    expect(commands).toContain('fetch');
  });

  it('after a commit that leaves the policy as it was, fetches the new tip but not the policy again', async () => {
    const { envRepo, git, source, advance } = await setUp();
    const first = await source.current();
    expect(git.take()).toContain('fetch blobs');
    const deployCommit = await envRepo.commitFiles(
      { 'apps/web/staging/rollout.yaml': 'kind: Rollout\n' },
      'deploy web v1.2.0 to staging',
    );
    advance(10_001);
    const next = await source.current();
    expect(next.commit).toBe(deployCommit);
    expect(next.policy).toEqual(first.policy);
    const commands = git.take();
    expect(commands).toContain('fetch');
    expect(commands).not.toContain('fetch blobs');
  });

  it('shares one check among concurrent callers', async () => {
    const { git, source, advance } = await setUp();
    await source.current();
    git.take();
    advance(10_001);
    const answers = await Promise.all(Array.from({ length: 5 }, () => source.current()));
    expect(new Set(answers.map((a) => a.commit)).size).toBe(1);
    expect(git.take()).toEqual(['ls-remote']);
  });
});

describe('ScratchRepo.remoteBranchTip', () => {
  it('names the tip of a branch, null for a branch that does not exist, and refuses credentials in the URL', async () => {
    const envRepo = await createEnvRepo({ initial: { 'README.md': 'env repo\n' } });
    repos.push(envRepo);
    const git = new GitCli();
    const remote = { url: envRepo.url };
    expect(await ScratchRepo.remoteBranchTip(git, envRepo.workDir, remote, 'main')).toBe(
      await envRepo.head(),
    );
    expect(await ScratchRepo.remoteBranchTip(git, envRepo.workDir, remote, 'nope')).toBeNull();
    await expect(
      ScratchRepo.remoteBranchTip(
        git,
        envRepo.workDir,
        { url: 'https://x:secret@example.com/r.git' },
        'main',
      ),
    ).rejects.toMatchObject({ code: 'SHIPGATE_E_GITOPS_REQUEST_INVALID' });
  });
});
