import type { Policy } from './schema.js';

/**
 * The repo allowlist. Patterns are `owner/name` where `*` matches any run of characters other
 * than `/`, and a leading `!` denies. Patterns are read top to bottom and the **last** one that
 * matches decides, like `.gitignore`; a repo that no pattern matches is denied. GitHub treats
 * names case-insensitively, and so does this.
 *
 *   allow: ["acme/*", "!acme/sandbox-*", "acme/sandbox-shared"]
 */

export interface RepoAccessDecision {
  allowed: boolean;
  reason: string;
}

const REPO_FULL_NAME = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

export function matchRepoPatterns(patterns: readonly string[], repoFullName: string): RepoAccessDecision {
  if (!REPO_FULL_NAME.test(repoFullName)) {
    return { allowed: false, reason: `"${repoFullName}" is not an owner/name repository name` };
  }
  const name = repoFullName.toLowerCase();
  for (let i = patterns.length - 1; i >= 0; i -= 1) {
    const pattern = patterns[i]!;
    const negated = pattern.startsWith('!');
    if (patternToRegExp(negated ? pattern.slice(1) : pattern).test(name)) {
      return negated
        ? { allowed: false, reason: `${repoFullName} is denied by "${pattern}" (repos.allow[${i}])` }
        : { allowed: true, reason: `${repoFullName} is allowed by "${pattern}" (repos.allow[${i}])` };
    }
  }
  return { allowed: false, reason: `no pattern in repos.allow matches ${repoFullName}` };
}

export function evaluateRepoAccess(policy: Policy, repoFullName: string): RepoAccessDecision {
  return matchRepoPatterns(policy.repos.allow, repoFullName);
}

const compiled = new Map<string, RegExp>();

function patternToRegExp(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    const body = pattern
      .toLowerCase()
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]*');
    re = new RegExp(`^${body}$`);
    compiled.set(pattern, re);
  }
  return re;
}
