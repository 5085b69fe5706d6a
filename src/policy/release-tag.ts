import type { Policy } from './schema.js';

/**
 * True when `tagName` (with or without `refs/tags/`) matches the policy's release tag pattern.
 * `*` matches any characters, including `/`; everything else is literal and case-sensitive,
 * like git tag names.
 */
export function isReleaseTag(policy: Policy, tagName: string): boolean {
  const name = tagName.startsWith('refs/tags/') ? tagName.slice('refs/tags/'.length) : tagName;
  if (name.length === 0) return false;
  const body = policy.releaseTagPattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`, 's').test(name);
}
