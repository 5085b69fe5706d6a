import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GitCommandFailed, GitopsRequestInvalid } from '../errors.js';
import { type GitAuth, type GitCli, urlHasCredentials } from './git-cli.js';

/**
 * A throw-away bare repository attached to one remote, fetched shallow and partial
 * (`--depth N --filter=blob:none`): commits and trees, no file contents, so fetch cost
 * follows the size of one commit's tree, not the repository's history or blob size. All
 * writes are plumbing (`hash-object`, `mktree`, `commit-tree`): there is no work tree to
 * check out, and nothing on disk outlives the operation.
 */

export interface RemoteSpec {
  /** Clone URL: `https://…`, `ssh://…`, `file://…`. Never with credentials in it. */
  url: string;
  /** Called before each network operation, so a fresh installation token is used. */
  auth?: () => Promise<GitAuth | undefined>;
}

export interface TreeEntry {
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  oid: string;
  name: string;
}

export type PushOutcome =
  { ok: true } | { ok: false; race: true; reason: string } | { ok: false; race: false; reason: string };

export interface CommitInfo {
  sha: string;
  parents: string[];
  committedAt: Date;
  subject: string;
  message: string;
}

const REMOTE = 'origin';
/** Every fetch: no progress, no tags, no FETCH_HEAD (refs are named explicitly; FETCH_HEAD is never read). */
const FETCH = ['fetch', '--quiet', '--no-tags', '--no-write-fetch-head'];
const FIELD = '\x1f';
const RECORD = '\x1e';

export class ScratchRepo {
  private readonly treeCache = new Map<string, TreeEntry[]>();

  private constructor(
    readonly git: GitCli,
    readonly dir: string,
    private readonly remote: RemoteSpec,
    private readonly filter: string | undefined,
  ) {}

  /**
   * Creates the bare repository under `workDir`. `filter` is the partial-clone filter
   * (@defaultValue `blob:none`; `undefined` disables partial fetch).
   */
  static async open(
    git: GitCli,
    workDir: string,
    remote: RemoteSpec,
    filter: string | undefined = 'blob:none',
  ): Promise<ScratchRepo> {
    assertSafeRemoteUrl(remote.url);
    await mkdir(workDir, { recursive: true });
    const dir = await mkdtemp(path.join(workDir, 'env-repo-'));
    const repo = new ScratchRepo(git, dir, remote, filter);
    try {
      await repo.run(['init', '--bare', '--quiet']);
      // One append instead of five `git config` processes; values are ours or a checked URL.
      const config = [
        '[remote "origin"]',
        `\turl = "${remote.url}"`,
        ...(filter ? ['\tpromisor = true', `\tpartialclonefilter = ${filter}`] : []),
        '[gc]',
        '\tauto = 0',
        '',
      ].join('\n');
      await appendFile(path.join(dir, 'config'), config);
    } catch (err) {
      await repo.close();
      throw err;
    }
    return repo;
  }

  /**
   * The tip of `branch` on the remote, or null when it does not exist: one `ls-remote`, one
   * round trip and no repository on disk. For a caller that only needs to know whether the
   * branch moved before paying for a fetch.
   */
  static async remoteBranchTip(
    git: GitCli,
    workDir: string,
    remote: RemoteSpec,
    branch: string,
  ): Promise<string | null> {
    assertSafeRemoteUrl(remote.url);
    assertRefName(branch);
    await mkdir(workDir, { recursive: true });
    const auth = await remote.auth?.();
    const ref = `refs/heads/${branch}`;
    const { stdout } = await git.run(['ls-remote', '--quiet', remote.url, ref], {
      cwd: workDir,
      // No repository is needed: stop git from finding (and reading the config of) one above.
      env: { GIT_CEILING_DIRECTORIES: path.dirname(path.resolve(workDir)) },
      ...(auth ? { auth } : {}),
    });
    const line = stdout.split('\n').find((l) => l.endsWith(`\t${ref}`));
    const sha = line?.slice(0, line.indexOf('\t')) ?? null;
    if (sha !== null) assertSha(sha);
    return sha;
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  run(
    args: string[],
    options: { input?: string | Buffer; env?: Record<string, string>; okExitCodes?: number[] } = {},
  ) {
    return this.git.run(args, { cwd: this.dir, ...options });
  }

  private async runRemote(args: string[], options: { input?: string; okExitCodes?: number[] } = {}) {
    const auth = await this.remote.auth?.();
    return this.git.run(args, { cwd: this.dir, ...options, ...(auth ? { auth } : {}) });
  }

  private filterArgs(): string[] {
    return this.filter ? [`--filter=${this.filter}`] : [];
  }

  /**
   * Fetches the tip of `branch` with `depth` commits of history into `refs/remotes/origin/<branch>`.
   * Returns the tip sha, or null when the branch does not exist yet.
   */
  async fetchBranch(branch: string, depth: number): Promise<string | null> {
    assertRefName(branch);
    const ref = `refs/remotes/${REMOTE}/${branch}`;
    try {
      await this.runRemote([
        ...FETCH,
        `--depth=${depth}`,
        ...this.filterArgs(),
        REMOTE,
        `+refs/heads/${branch}:${ref}`,
      ]);
    } catch (err) {
      if (
        GitCommandFailed.is(err) &&
        /couldn't find remote ref/i.test(String(err.details?.stderr ?? err.message))
      ) {
        return null;
      }
      throw err;
    }
    return this.revParse(ref);
  }

  /**
   * Fetches one commit by sha with `depth` commits of history (the server must allow
   * reachable shas in want, as GitHub does). Always asks the server: in a partial repo a
   * local presence check would itself trigger an unbounded lazy fetch.
   */
  async fetchCommit(sha: string, depth: number): Promise<void> {
    assertSha(sha);
    await this.runRemote([...FETCH, `--depth=${depth}`, ...this.filterArgs(), REMOTE, sha]);
  }

  /** Fetches blobs by id in one round trip (a partial repo leaves them out until needed). */
  async fetchBlobs(oids: readonly string[]): Promise<void> {
    if (!this.filter || oids.length === 0) return;
    await this.runRemote(
      ['-c', 'fetch.negotiationAlgorithm=noop', ...FETCH, '--filter=blob:none', '--stdin', REMOTE],
      { input: `${[...new Set(oids)].join('\n')}\n` },
    );
  }

  async revParse(rev: string): Promise<string | null> {
    const r = await this.run(['rev-parse', '--verify', '--quiet', `${rev}^{object}`], {
      okExitCodes: [1, 128],
    });
    return r.exitCode === 0 ? r.stdout.trim() : null;
  }

  /**
   * Id of the object at `filePath` in `commit`, or null when there is none. (`revParse` cannot
   * do this: after `<rev>:` everything, a `^{object}` suffix included, is read as the path.)
   */
  async objectAt(commit: string, filePath: string): Promise<string | null> {
    const r = await this.run(['rev-parse', '--verify', '--quiet', `${commit}:${filePath}`], {
      okExitCodes: [1, 128],
    });
    return r.exitCode === 0 ? r.stdout.trim() : null;
  }

  /** Entries of a tree, with their modes, so symlinks and submodules can be told apart. */
  async lsTree(tree: string): Promise<TreeEntry[]> {
    // Objects are immutable, so a listing by id can be cached for the life of this repo.
    const cached = this.treeCache.get(tree);
    if (cached) return cached;
    const r = await this.run(['ls-tree', '-z', '--full-tree', tree]);
    const entries = r.stdout
      .split('\0')
      .filter((line) => line !== '')
      .map((line) => {
        const tab = line.indexOf('\t');
        const [mode, type, oid] = line.slice(0, tab).split(' ') as [string, TreeEntry['type'], string];
        return { mode, type, oid, name: line.slice(tab + 1) };
      });
    this.treeCache.set(tree, entries);
    return entries;
  }

  /** Blob and tree entries below `tree`, recursively, with paths relative to it. */
  async lsTreeRecursive(tree: string): Promise<TreeEntry[]> {
    const r = await this.run(['ls-tree', '-r', '-z', '--full-tree', tree]);
    return r.stdout
      .split('\0')
      .filter((line) => line !== '')
      .map((line) => {
        const tab = line.indexOf('\t');
        const [mode, type, oid] = line.slice(0, tab).split(' ') as [string, TreeEntry['type'], string];
        return { mode, type, oid, name: line.slice(tab + 1) };
      });
  }

  async mktree(entries: readonly TreeEntry[]): Promise<string> {
    const input = entries.map((e) => `${e.mode} ${e.type} ${e.oid}\t${e.name}\0`).join('');
    // --missing: blobs of other apps are not fetched (partial clone); their ids are enough.
    const r = await this.run(['mktree', '-z', '--missing'], { input });
    return r.stdout.trim();
  }

  /** Writes blobs and returns their ids, in order (one git process for all of them). */
  async writeBlobs(contents: readonly string[]): Promise<string[]> {
    if (contents.length === 0) return [];
    const staging = await mkdtemp(path.join(this.dir, 'blobs-'));
    try {
      const files = contents.map((_, i) => path.join(staging, String(i)));
      await Promise.all(contents.map((content, i) => writeFile(files[i]!, content)));
      const r = await this.run(['hash-object', '-w', '--no-filters', '--stdin-paths'], {
        input: `${files.join('\n')}\n`,
      });
      return r.stdout.trim().split('\n');
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** Reads blobs (fetching missing ones first) as UTF-8 text, keyed by id. */
  async readBlobs(oids: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(oids)];
    await this.fetchBlobs(unique);
    const out = new Map<string, string>();
    for (const oid of unique) {
      const r = await this.run(['cat-file', 'blob', oid]);
      out.set(oid, r.stdout);
    }
    return out;
  }

  async commitTree(tree: string, parents: readonly string[], message: string, date?: Date): Promise<string> {
    const args = ['commit-tree', tree];
    for (const p of parents) args.push('-p', p);
    const r = await this.run(args, { input: message, env: this.git.commitEnv(date) });
    return r.stdout.trim();
  }

  /** Reads commit metadata (message included) for `rev`, optionally limited to `path`. */
  async log(
    rev: string,
    options: { path?: string; maxCount: number; firstParent?: boolean },
  ): Promise<CommitInfo[]> {
    const format = ['%H', '%P', '%ct', '%s', '%B'].join(FIELD) + RECORD;
    const args = ['log', `--format=${format}`, `--max-count=${options.maxCount}`];
    if (options.firstParent) args.push('--first-parent');
    args.push(rev, '--');
    if (options.path) args.push(options.path);
    const r = await this.run(args);
    return r.stdout
      .split(RECORD)
      .map((rec) => rec.replace(/^\n/, ''))
      .filter((rec) => rec.trim() !== '')
      .map((rec) => {
        const [sha, parents, ct, subject, message] = rec.split(FIELD) as [
          string,
          string,
          string,
          string,
          string,
        ];
        return {
          sha,
          parents: parents.trim() === '' ? [] : parents.trim().split(' '),
          committedAt: new Date(Number(ct) * 1000),
          subject,
          message: message ?? '',
        };
      });
  }

  /** True when the repository's history was cut by a shallow fetch at `sha`. */
  async isShallowBoundary(sha: string): Promise<boolean> {
    const r = await this.run(['rev-parse', '--git-path', 'shallow']);
    const text = await readFile(path.resolve(this.dir, r.stdout.trim()), 'utf8').catch(() => '');
    return text.split('\n').includes(sha);
  }

  /** Fetches more history for `branch`. */
  async deepen(branch: string, by: number): Promise<void> {
    assertRefName(branch);
    await this.runRemote([
      ...FETCH,
      `--deepen=${by}`,
      ...this.filterArgs(),
      REMOTE,
      `+refs/heads/${branch}:refs/remotes/${REMOTE}/${branch}`,
    ]);
  }

  /**
   * Pushes `commit` to `refs/heads/<branch>` without force. A non-fast-forward or a lost ref
   * lock is a race (fetch and re-apply); any other rejection (protected branch, hook) is final.
   */
  async push(commit: string, branch: string): Promise<PushOutcome> {
    assertRefName(branch);
    const r = await this.runRemote(
      ['push', '--porcelain', '--quiet', REMOTE, `${commit}:refs/heads/${branch}`],
      {
        okExitCodes: [1],
      },
    );
    if (r.exitCode === 0) return { ok: true };
    const line = r.stdout.split('\n').find((l) => l.startsWith('!')) ?? '';
    const reason = (line.split('\t')[2] ?? r.stderr.trim().split('\n').slice(-3).join(' ')).trim();
    const race =
      /non-fast-forward|fetch first|stale info|cannot lock ref|failed to update ref|incorrect old value|reference already exists|failed to lock/i.test(
        `${reason}\n${r.stderr}`,
      );
    return { ok: false, race, reason: reason || 'rejected' };
  }
}

/**
 * Removes scratch repositories left behind by processes that died mid-operation (a
 * SIGKILLed worker cannot clean up). Only folders older than `maxAgeMs` are removed, so
 * operations running right now keep theirs. Returns how many were removed.
 */
export async function removeStaleScratchRepos(workDir: string, maxAgeMs = 60 * 60 * 1000): Promise<number> {
  const entries = await readdir(workDir, { withFileTypes: true }).catch(() => []);
  let removed = 0;
  for (const entry of entries) {
    if (!entry.isDirectory() || !entry.name.startsWith('env-repo-')) continue;
    const full = path.join(workDir, entry.name);
    const info = await stat(full).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs >= maxAgeMs) {
      await rm(full, { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}

/** The env repo URL as Shipgate accepts it: no credentials in it, nothing that breaks git config. */
function assertSafeRemoteUrl(url: string): void {
  if (urlHasCredentials(url)) {
    throw GitopsRequestInvalid(
      'the env repo URL must not contain credentials; Shipgate passes tokens itself',
    );
  }
  // eslint-disable-next-line no-control-regex -- stripping control characters is the point
  if (/[\x00-\x1f\x7f"\\]/.test(url)) {
    throw GitopsRequestInvalid('the env repo URL contains control characters, quotes or backslashes');
  }
}

/** Refuses branch names git would misread (options, ranges, reflog syntax). */
export function assertRefName(branch: string): void {
  if (
    !/^[A-Za-z0-9._/-]+$/.test(branch) ||
    branch.startsWith('-') ||
    branch.startsWith('/') ||
    branch.endsWith('/') ||
    branch.endsWith('.lock') ||
    branch.includes('..') ||
    branch.includes('//')
  ) {
    throw GitopsRequestInvalid(`branch name ${JSON.stringify(branch)} is not allowed`);
  }
}

export function assertSha(sha: string): void {
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(sha))
    throw GitopsRequestInvalid(`${JSON.stringify(sha)} is not a full commit sha`);
}
