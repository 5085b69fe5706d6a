import { repoFullNameProblem } from './github-repo-name.js';
import type { Policy } from './schema.js';
import { compileWildcard, type Wildcard } from './wildcard.js';

/**
 * The repo allowlist. Patterns are `owner/name` where `*` matches any run of characters other
 * than `/`, and a leading `!` denies. Patterns are read top to bottom and the **last** one that
 * matches decides, like `.gitignore`; a repo that no pattern matches is denied. GitHub treats
 * names case-insensitively, and so does this.
 *
 *   allow: ["acme/*", "!acme/sandbox-*", "acme/sandbox-shared"]
 *
 * Only names GitHub could hold are matched at all (see `github-repo-name.ts`), so `acme/..` and
 * `acme/.git` are denied whatever the patterns say.
 */

export interface RepoAccessDecision {
  allowed: boolean;
  reason: string;
}

interface CompiledPattern {
  index: number;
  negated: boolean;
  owner: Wildcard;
  repo: Wildcard;
}

/**
 * An allowlist ready to answer many names: patterns without a wildcard sit in a hash map, so a
 * policy listing a thousand repositories costs one lookup per name, and only wildcard patterns
 * are tried one by one.
 */
interface CompiledAllowlist {
  /** Lower-cased exact name → the index of the last exact pattern naming it. */
  exact: Map<string, number>;
  /** Wildcard patterns, last first (the last match decides). */
  wildcards: CompiledPattern[];
  patterns: readonly string[];
}

// Keyed by the array itself: a parsed policy keeps its allowlist for as long as it is cached,
// and a hostile stream of patterns cannot grow a global cache.
const compiledLists = new WeakMap<readonly string[], CompiledAllowlist>();

function compileAllowlist(patterns: readonly string[]): CompiledAllowlist {
  let compiled = compiledLists.get(patterns);
  if (compiled) return compiled;
  compiled = { exact: new Map(), wildcards: [], patterns };
  patterns.forEach((raw, index) => {
    const negated = raw.startsWith('!');
    const body = (negated ? raw.slice(1) : raw).toLowerCase();
    const slash = body.indexOf('/');
    // A pattern that is not owner/name matches nothing (the policy schema refuses it anyway).
    if (slash < 0 || body.indexOf('/', slash + 1) >= 0) return;
    const owner = compileWildcard(body.slice(0, slash));
    const repo = compileWildcard(body.slice(slash + 1));
    if (!owner.hasWildcard && !repo.hasWildcard) compiled.exact.set(body, index);
    else compiled.wildcards.push({ index, negated, owner, repo });
  });
  compiled.wildcards.reverse();
  compiledLists.set(patterns, compiled);
  return compiled;
}

/** The index of the pattern that decides for `name` (lower-cased, valid), or -1. */
function decidingPattern(list: CompiledAllowlist, name: string): number {
  const exact = list.exact.get(name) ?? -1;
  const slash = name.indexOf('/');
  const owner = name.slice(0, slash);
  const repo = name.slice(slash + 1);
  for (const pattern of list.wildcards) {
    if (pattern.index < exact) break;
    if (pattern.owner.matches(owner) && pattern.repo.matches(repo)) return pattern.index;
  }
  return exact;
}

export function matchRepoPatterns(patterns: readonly string[], repoFullName: string): RepoAccessDecision {
  const problem = repoFullNameProblem(repoFullName);
  if (problem !== undefined) {
    return {
      allowed: false,
      reason: `"${repoFullName.slice(0, 200)}" is not a GitHub repository name: ${problem}`,
    };
  }
  const i = decidingPattern(compileAllowlist(patterns), repoFullName.toLowerCase());
  if (i < 0) return { allowed: false, reason: `no pattern in repos.allow matches ${repoFullName}` };
  const pattern = patterns[i]!;
  return pattern.startsWith('!')
    ? { allowed: false, reason: `${repoFullName} is denied by "${pattern}" (repos.allow[${i}])` }
    : { allowed: true, reason: `${repoFullName} is allowed by "${pattern}" (repos.allow[${i}])` };
}

export function evaluateRepoAccess(policy: Policy, repoFullName: string): RepoAccessDecision {
  return matchRepoPatterns(policy.repos.allow, repoFullName);
}
