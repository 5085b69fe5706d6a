import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { GitopsPathUnsafe } from '../errors.js';

/**
 * Path checks for both sides of the writer: the app checkout (where manifests are read) and
 * the env repo (where they are written). A path is refused, never "cleaned", so a hostile
 * `.shipgate.yml` or policy typo fails loudly instead of writing somewhere unexpected.
 */

/**
 * Validates a repository-relative POSIX path and returns it normalised (no `./`, no trailing
 * slash). Refuses absolute paths, `..`, backslashes, NUL, empty paths and `.git`.
 */
export function assertSafeRelativePath(input: string, label = 'path'): string {
  if (typeof input !== 'string' || input.trim() === '') {
    throw GitopsPathUnsafe(String(input), `${label} is empty`);
  }
  if (input.includes('\0')) throw GitopsPathUnsafe(input, `${label} contains a NUL byte`);
  if (input.includes('\\')) throw GitopsPathUnsafe(input, `${label} contains a backslash`);
  if (input.startsWith('/') || /^[a-zA-Z]:/.test(input)) {
    throw GitopsPathUnsafe(input, `${label} must be relative, not absolute`);
  }
  const segments = input.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.length === 0) throw GitopsPathUnsafe(input, `${label} names the repository root`);
  for (const segment of segments) {
    if (segment === '..') throw GitopsPathUnsafe(input, `${label} must not contain ".."`);
    if (segment.toLowerCase() === '.git') throw GitopsPathUnsafe(input, `${label} must not touch .git`);
  }
  return segments.join('/');
}

/** True when `child` is `parent` or below it (both absolute and real). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Resolves `relative` under `root`, following symlinks, and refuses when the real target lies
 * outside the real root. Returns the real absolute path.
 */
export async function resolveInside(root: string, relative: string, label = 'path'): Promise<string> {
  const safe = assertSafeRelativePath(relative, label);
  const realRoot = await realpath(root);
  const joined = path.join(realRoot, safe);
  let real: string;
  try {
    real = await realpath(joined);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      // A dangling symlink also lands here: say so, since it may point outside.
      const link = await lstat(joined).catch(() => undefined);
      const reason = link?.isSymbolicLink() ? 'is a symlink to nothing' : 'does not exist';
      throw GitopsPathUnsafe(relative, `${label} ${reason}`, { cause: err });
    }
    throw err;
  }
  if (!isInside(realRoot, real)) {
    throw GitopsPathUnsafe(relative, `${label} resolves outside the repository (through a symlink)`);
  }
  return real;
}
