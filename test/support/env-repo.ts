import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * A real bare git remote on disk, served over `file://` (which, unlike a plain path, goes
 * through upload-pack, so shallow and partial fetches behave as they do against GitHub).
 * The remote keeps a reflog of every ref update and refuses non-fast-forward pushes, so tests
 * can prove nothing was force-pushed.
 */

const run = promisify(execFile);

const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Platform Team',
  GIT_AUTHOR_EMAIL: 'platform@example.com',
  GIT_COMMITTER_NAME: 'Platform Team',
  GIT_COMMITTER_EMAIL: 'platform@example.com',
  GIT_TERMINAL_PROMPT: '0',
};

export async function git(cwd: string, args: string[], input?: string): Promise<string> {
  if (input !== undefined) {
    return new Promise((resolve, reject) => {
      const child = execFile(
        'git',
        args,
        { cwd, env: GIT_ENV, maxBuffer: 256 * 1024 * 1024 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      );
      child.stdin!.end(input);
    });
  }
  const { stdout } = await run('git', args, { cwd, env: GIT_ENV, maxBuffer: 256 * 1024 * 1024 });
  return stdout;
}

export interface EnvRepo {
  /** `file://` URL of the bare remote. */
  url: string;
  /** Path of the bare remote. */
  bare: string;
  /** A scratch folder for the code under test (its `workDir`). */
  workDir: string;
  root: string;
  branch: string;
  /** Commits files (path → content; null deletes) on the branch, as a human would. */
  commitFiles(files: Record<string, string | null>, message: string): Promise<string>;
  head(): Promise<string>;
  /** Content of `file` at `rev`, or undefined when absent. */
  show(rev: string, file: string): Promise<string | undefined>;
  /** Files below `dir` at `rev` (paths relative to `dir`). */
  list(rev: string, dir: string): Promise<string[]>;
  /** Full commit messages on the branch, newest first. */
  messages(max?: number): Promise<{ sha: string; message: string }[]>;
  /** `old new` pairs of every update of the branch, oldest first. */
  reflog(): Promise<{ old: string; new: string }[]>;
  git(args: string[], input?: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function createEnvRepo(
  options: { initial?: Record<string, string>; branch?: string } = {},
): Promise<EnvRepo> {
  const branch = options.branch ?? 'main';
  const root = await mkdtemp(path.join(tmpdir(), 'shipgate-env-repo-'));
  const bare = path.join(root, 'remote.git');
  const seed = path.join(root, 'seed');
  const workDir = path.join(root, 'work');
  await mkdir(workDir);
  await git(root, ['init', '--quiet', '--bare', `--initial-branch=${branch}`, bare]);
  for (const [key, value] of [
    ['uploadpack.allowFilter', 'true'],
    ['uploadpack.allowAnySHA1InWant', 'true'],
    ['core.logAllRefUpdates', 'always'],
    ['receive.denyNonFastForwards', 'true'],
    ['receive.denyDeletes', 'true'],
  ] as const) {
    await git(bare, ['config', key, value]);
  }
  await git(root, ['init', '--quiet', `--initial-branch=${branch}`, seed]);
  const url = `file://${bare}`;

  const repo: EnvRepo = {
    url,
    bare,
    workDir,
    root,
    branch,
    async commitFiles(files, message) {
      await git(seed, ['fetch', '--quiet', url, branch]).catch(() => undefined);
      await git(seed, ['reset', '--quiet', '--hard', 'FETCH_HEAD']).catch(() => undefined);
      for (const [file, content] of Object.entries(files)) {
        const full = path.join(seed, file);
        if (content === null) await rm(full, { force: true, recursive: true });
        else {
          await mkdir(path.dirname(full), { recursive: true });
          await writeFile(full, content);
        }
      }
      await git(seed, ['add', '--all']);
      await git(seed, ['commit', '--quiet', '--allow-empty', '-m', message]);
      await git(seed, ['push', '--quiet', url, `HEAD:refs/heads/${branch}`]);
      return (await git(seed, ['rev-parse', 'HEAD'])).trim();
    },
    async head() {
      return (await git(bare, ['rev-parse', branch])).trim();
    },
    async show(rev, file) {
      try {
        return await git(bare, ['show', `${rev}:${file}`]);
      } catch {
        return undefined;
      }
    },
    async list(rev, dir) {
      const out = await git(bare, ['ls-tree', '-r', '--name-only', rev, '--', `${dir}/`]).catch(() => '');
      return out
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => l.slice(dir.length + 1))
        .sort();
    },
    async messages(max = 1000) {
      const out = await git(bare, ['log', `--max-count=${max}`, '--format=%H%x1f%B%x1e', branch]);
      return out
        .split('\x1e')
        .map((r) => r.replace(/^\n/, ''))
        .filter((r) => r.trim() !== '')
        .map((r) => {
          const [sha, message] = r.split('\x1f') as [string, string];
          return { sha, message };
        });
    },
    async reflog() {
      const out = await git(bare, ['reflog', 'show', '--format=%H', `refs/heads/${branch}`]).catch(() => '');
      const shas = out
        .split('\n')
        .filter((l) => l !== '')
        .reverse();
      return shas.slice(1).map((sha, i) => ({ old: shas[i]!, new: sha }));
    },
    git: (args, input) => git(bare, args, input),
    async cleanup() {
      await rm(root, { recursive: true, force: true });
    },
  };
  await repo.commitFiles({ 'README.md': '# env repo\n', ...options.initial }, 'initial layout');
  return repo;
}
