/**
 * Repository names as GitHub accepts them. A name that GitHub could never create is refused
 * before any pattern sees it: `acme/..` or `acme/.git` must not pass an `acme/*` allowlist, and
 * must never become a folder or clone URL either.
 *
 * - owner (user or organisation): letters, digits and single hyphens, not first or last, at
 *   most 39 characters;
 * - repository: letters, digits, `.`, `_` and `-`, at most 100 characters, not `.` or `..`, and
 *   not ending in `.git` (GitHub strips that suffix, so such a name names another repository).
 */

export const OWNER_MAX_LENGTH = 39;
export const REPO_MAX_LENGTH = 100;

// Each alternative starts with a different character class, so the engine never backtracks.
const OWNER = /^[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$/;
const REPO = /^[A-Za-z0-9._-]+$/;

/** Why `owner` is not a GitHub user or organisation name, or undefined when it is one. */
export function ownerNameProblem(owner: string): string | undefined {
  if (owner.length === 0) return 'the owner is empty';
  if (owner.length > OWNER_MAX_LENGTH) return `the owner is longer than ${OWNER_MAX_LENGTH} characters`;
  if (!OWNER.test(owner)) {
    return 'the owner may only use letters, digits and single hyphens, not at the start or end';
  }
  return undefined;
}

/** Why `repo` (the part after the slash) is not a GitHub repository name, or undefined. */
export function repoNameProblem(repo: string): string | undefined {
  if (repo.length === 0) return 'the repository name is empty';
  if (repo.length > REPO_MAX_LENGTH)
    return `the repository name is longer than ${REPO_MAX_LENGTH} characters`;
  if (!REPO.test(repo)) return 'the repository name may only use letters, digits, ".", "_" and "-"';
  if (repo === '.' || repo === '..') return `"${repo}" is not a repository name`;
  if (repo.toLowerCase().endsWith('.git')) return 'the repository name must not end in ".git"';
  return undefined;
}

/** Why `fullName` is not an `owner/name` that GitHub could hold, or undefined when it is. */
export function repoFullNameProblem(fullName: string): string | undefined {
  const slash = fullName.indexOf('/');
  if (slash < 0 || fullName.indexOf('/', slash + 1) >= 0) return 'it is not of the form owner/name';
  return ownerNameProblem(fullName.slice(0, slash)) ?? repoNameProblem(fullName.slice(slash + 1));
}

export function isValidRepoFullName(fullName: string): boolean {
  return repoFullNameProblem(fullName) === undefined;
}
