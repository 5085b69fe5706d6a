import type { Policy } from './schema.js';
import { compileWildcard } from './wildcard.js';

/**
 * True when `tagName` (with or without `refs/tags/`) matches the policy's release tag pattern.
 * `*` matches any characters, including `/`; everything else is literal and case-sensitive,
 * like git tag names. Tag names come from whoever pushes them, so the match is linear (no
 * backtracking regex).
 */
export function isReleaseTag(policy: Policy, tagName: string): boolean {
  const name = tagName.startsWith('refs/tags/') ? tagName.slice('refs/tags/'.length) : tagName;
  if (name.length === 0) return false;
  return compileWildcard(policy.releaseTagPattern).matches(name);
}
