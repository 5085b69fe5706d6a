import { GitopsPathUnsafe, GitopsRequestInvalid } from '../errors.js';
import type { ScratchRepo, TreeEntry } from '../git/scratch-repo.js';
import type { RenderedFile } from './types.js';

/**
 * Tree surgery on the env repo without a work tree: read the trees along one path, swap the
 * subtree at its end, and write new trees back up to the root. Everything outside the path
 * keeps its object ids, which is what guarantees "other apps untouched".
 */

const TREE_MODE = '040000';
const FILE_NAME = /^[A-Za-z0-9._-]+$/;

function describeMode(mode: string): string {
  if (mode === '120000') return 'a symlink';
  if (mode === '160000') return 'a submodule';
  return 'a file';
}

/**
 * The tree id at `segments` below `rootTree`, or null when the path does not exist. Refuses
 * a path that runs through a symlink, submodule or file, so a planted `apps/x -> /etc` or
 * `apps -> ../elsewhere` in the env repo cannot redirect a write.
 */
export async function subtreeAt(
  repo: ScratchRepo,
  rootTree: string | null,
  segments: readonly string[],
): Promise<string | null> {
  let tree = rootTree;
  for (let i = 0; i < segments.length && tree !== null; i++) {
    const entries = await repo.lsTree(tree);
    const entry = entries.find((e) => e.name === segments[i]);
    if (!entry) return null;
    if (entry.mode !== TREE_MODE) {
      throw GitopsPathUnsafe(
        segments.slice(0, i + 1).join('/'),
        `is ${describeMode(entry.mode)} in the env repo, not a folder`,
      );
    }
    tree = entry.oid;
  }
  return tree;
}

/** Writes `files` as one flat tree. */
export async function writeFlatTree(repo: ScratchRepo, files: readonly RenderedFile[]): Promise<string> {
  const seen = new Set<string>();
  for (const f of files) {
    if (!FILE_NAME.test(f.name) || f.name === '.' || f.name === '..' || f.name.toLowerCase() === '.git') {
      throw GitopsRequestInvalid(`rendered file name ${JSON.stringify(f.name)} is not a plain file name`);
    }
    if (seen.has(f.name)) throw GitopsRequestInvalid(`rendered file name ${f.name} appears twice`);
    seen.add(f.name);
  }
  const oids = await repo.writeBlobs(files.map((f) => f.content));
  return repo.mktree(files.map((f, i) => ({ mode: '100644', type: 'blob', oid: oids[i]!, name: f.name })));
}

/**
 * Returns a new root tree equal to `rootTree` except that `segments` now holds `replacement`
 * (null or an empty tree removes it; folders left empty are removed too).
 */
export async function replaceSubtree(
  repo: ScratchRepo,
  rootTree: string | null,
  segments: readonly string[],
  replacement: string | null,
  emptyTree: string,
): Promise<string> {
  const [head, ...rest] = segments;
  if (head === undefined) return replacement ?? emptyTree;
  const entries: TreeEntry[] = rootTree ? await repo.lsTree(rootTree) : [];
  const index = entries.findIndex((e) => e.name === head);
  const existing = index >= 0 ? entries[index]! : undefined;
  if (existing && existing.mode !== TREE_MODE) {
    throw GitopsPathUnsafe(head, `is ${describeMode(existing.mode)} in the env repo, not a folder`);
  }
  const child =
    rest.length === 0
      ? replacement
      : await replaceSubtree(repo, existing?.oid ?? null, rest, replacement, emptyTree);
  const next = entries.filter((e) => e.name !== head);
  if (child !== null && child !== emptyTree)
    next.push({ mode: TREE_MODE, type: 'tree', oid: child, name: head });
  if (next.length === 0) return emptyTree;
  return repo.mktree(next);
}

export async function emptyTreeId(repo: ScratchRepo): Promise<string> {
  return repo.mktree([]);
}
