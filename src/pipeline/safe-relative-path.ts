import { z } from 'zod';

/**
 * Relative paths that cross a trust boundary: manifest folders named by an app repo, and
 * env-repo paths named by the policy. They are normalised (`./a//b/` → `a/b`) and refused when
 * they could reach outside their root: `..`, absolute paths, drive letters, backslashes (a path
 * separator on Windows checkouts), control characters, and `.git` (writing there rewrites history
 * or hooks). Symlinks are a property of a checkout, not of a string: the readers and writers that
 * touch the file system check those.
 */

export interface RelativePathRules {
  /** Accept the root itself (`.` or `./`), normalised to `.`. @defaultValue false */
  allowRoot?: boolean;
  /** Accept segments starting with a dot (`.deploy`). `.git` is always refused. @defaultValue true */
  allowDotSegments?: boolean;
  /** Accept `*` wildcards (for report globs). @defaultValue false */
  allowGlob?: boolean;
}

export type RelativePathResult = { ok: true; path: string } | { ok: false; reason: string };

const MAX_LENGTH = 512;
const MAX_SEGMENTS = 32;
const SEGMENT = /^[A-Za-z0-9._@+=,~-]+$/;
const GLOB_SEGMENT = /^[A-Za-z0-9._@+=,~*-]+$/;

export function normaliseRelativePath(input: string, rules: RelativePathRules = {}): RelativePathResult {
  const { allowRoot = false, allowDotSegments = true, allowGlob = false } = rules;
  if (input.length === 0) return { ok: false, reason: 'the path is empty' };
  if (input.length > MAX_LENGTH)
    return { ok: false, reason: `the path is longer than ${MAX_LENGTH} characters` };
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(input))
    return { ok: false, reason: 'the path contains control characters' };
  if (input.includes('\\')) return { ok: false, reason: 'use "/" as the separator, not "\\"' };
  if (input.startsWith('/')) return { ok: false, reason: 'the path must be relative, not absolute' };
  if (/^[A-Za-z]:/.test(input)) return { ok: false, reason: 'the path must be relative, not a drive path' };
  if (input.startsWith('~')) return { ok: false, reason: 'the path must be relative, not start with "~"' };

  const segments: string[] = [];
  for (const segment of input.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') return { ok: false, reason: 'the path must not contain ".."' };
    if (segment.toLowerCase() === '.git') return { ok: false, reason: 'the path must not touch ".git"' };
    if (!(allowGlob ? GLOB_SEGMENT : SEGMENT).test(segment)) {
      return {
        ok: false,
        reason: `the path segment "${segment}" may only use letters, digits and . _ - @ + = , ~${allowGlob ? ' *' : ''}`,
      };
    }
    if (!allowDotSegments && segment.startsWith('.')) {
      return { ok: false, reason: `the path segment "${segment}" must not start with "."` };
    }
    segments.push(segment);
  }
  if (segments.length > MAX_SEGMENTS)
    return { ok: false, reason: `the path has more than ${MAX_SEGMENTS} segments` };
  if (segments.length === 0) {
    return allowRoot
      ? { ok: true, path: '.' }
      : { ok: false, reason: 'the path must name a folder, not the root' };
  }
  return { ok: true, path: segments.join('/') };
}

/** A zod string that is normalised by `normaliseRelativePath` and refused with its reason. */
export function relativePathSchema(rules: RelativePathRules = {}, description?: string) {
  const schema = z.string().transform((value, ctx) => {
    const result = normaliseRelativePath(value, rules);
    if (!result.ok) {
      ctx.addIssue({
        code: 'custom',
        message: `${JSON.stringify(value)} is not a safe relative path: ${result.reason}`,
        params: { expected: 'a relative path inside the repository, without ".."' },
      });
      return z.NEVER;
    }
    return result.path;
  });
  return description ? schema.meta({ description }) : schema;
}

/** True when normalised path `inner` is `outer` or lies inside it (segment-wise, not by prefix). */
export function isSameOrInside(inner: string, outer: string): boolean {
  if (outer === '.') return true;
  return inner === outer || inner.startsWith(`${outer}/`);
}
