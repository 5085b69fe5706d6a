import { describe, expect, it } from 'vitest';
import { evaluateRepoAccess, matchRepoPatterns } from '../../../src/policy/repo-access.js';
import { examplePolicy } from './policy-fixtures.js';

describe('matchRepoPatterns', () => {
  const patterns = ['acme/*', '!acme/sandbox-*', 'acme/sandbox-shared', 'partner/api', '!*/legacy'];

  it.each([
    ['acme/web-shop', true, 'acme/*'],
    ['ACME/Web-Shop', true, 'acme/*'], // GitHub names are case-insensitive
    ['acme/sandbox-bob', false, '!acme/sandbox-*'],
    ['acme/sandbox-shared', true, 'acme/sandbox-shared'], // a later pattern re-allows
    ['partner/api', true, 'partner/api'],
    ['partner/api-v2', false, undefined],
    ['acme/legacy', false, '!*/legacy'], // the last match wins
    ['other/web', false, undefined],
  ])('%s → %s', (repo, allowed, pattern) => {
    const decision = matchRepoPatterns(patterns, repo);
    expect(decision.allowed).toBe(allowed);
    if (pattern) expect(decision.reason).toContain(`"${pattern}"`);
    else expect(decision.reason).toBe(`no pattern in repos.allow matches ${repo}`);
  });

  it('does not let "*" cross the owner/name boundary or match regex syntax', () => {
    expect(matchRepoPatterns(['acme*'], 'acme/web').allowed).toBe(false);
    expect(matchRepoPatterns(['*/*'], 'any/repo').allowed).toBe(true);
    expect(matchRepoPatterns(['acme/web.shop'], 'acme/webxshop').allowed).toBe(false);
    expect(matchRepoPatterns(['acme/web.shop'], 'acme/web.shop').allowed).toBe(true);
  });

  it('denies names that are not owner/name', () => {
    for (const repo of ['', 'acme', 'acme/web/extra', 'acme/../x', '*/*']) {
      expect(matchRepoPatterns(['*/*'], repo).allowed, repo).toBe(false);
    }
  });

  it.each([
    ['acme/..', '".." is not a repository name'],
    ['acme/.', '"." is not a repository name'],
    ['acme/.git', 'must not end in ".git"'],
    ['acme/web.GIT', 'must not end in ".git"'],
    ['acme/web shop', 'may only use letters, digits, ".", "_" and "-"'],
    [`acme/${'r'.repeat(101)}`, 'longer than 100 characters'],
    ['-acme/web', 'single hyphens, not at the start or end'],
    ['acme-/web', 'single hyphens, not at the start or end'],
    ['ac--me/web', 'single hyphens, not at the start or end'],
    ['ac_me/web', 'single hyphens, not at the start or end'],
    ['ac.me/web', 'single hyphens, not at the start or end'],
    [`${'o'.repeat(40)}/web`, 'longer than 39 characters'],
  ])('denies %s, which GitHub could not hold, whatever the patterns say', (repo, reason) => {
    for (const patterns of [['acme/*'], ['*/*'], [repo]]) {
      const decision = matchRepoPatterns(patterns, repo);
      expect(decision.allowed).toBe(false);
      expect(decision.reason).toContain('is not a GitHub repository name');
      expect(decision.reason).toContain(reason);
    }
  });

  it('accepts every name GitHub allows at its limits', () => {
    for (const repo of [
      `${'o'.repeat(39)}/${'r'.repeat(100)}`,
      'a-b-c/.github',
      'A1/x_y.z-w',
      'acme/git',
      'acme/.gitignore-tools',
    ]) {
      expect(matchRepoPatterns(['*/*'], repo).allowed, repo).toBe(true);
    }
  });

  it('matches wildcards exactly as the equivalent regular expression would', () => {
    // A small exhaustive check of the linear matcher against the regex it replaces.
    const alphabet = ['a', 'b', '*'];
    const patterns: string[] = [''];
    for (let length = 0; length < 5; length += 1) {
      for (const p of patterns.filter((x) => x.length === length))
        for (const c of alphabet) patterns.push(p + c);
    }
    const names: string[] = [''];
    for (let length = 0; length < 5; length += 1) {
      for (const n of names.filter((x) => x.length === length)) for (const c of ['a', 'b']) names.push(n + c);
    }
    let compared = 0;
    for (const side of patterns.filter((p) => p !== '')) {
      const re = new RegExp(`^${side.replaceAll('*', '[^/]*')}$`);
      for (const name of names.filter((n) => n !== '')) {
        expect(matchRepoPatterns([`o/${side}`], `o/${name}`).allowed, `${side} ~ ${name}`).toBe(
          re.test(name),
        );
        compared += 1;
      }
    }
    expect(compared).toBeGreaterThan(3000);
  });

  it('collapses runs of "*" and decides in linear time', () => {
    const pattern = `acme/${'*'.repeat(200)}a`;
    const name = `acme/${'b'.repeat(100)}`;
    const started = process.cpuUsage();
    for (let i = 0; i < 1000; i += 1) expect(matchRepoPatterns([pattern], name).allowed).toBe(false);
    const used = process.cpuUsage(started);
    // The backtracking regex this replaces took 35 s for one such match.
    expect((used.user + used.system) / 1000).toBeLessThan(200);
    expect(matchRepoPatterns([`acme/${'*'.repeat(50)}b`], name).allowed).toBe(true);
  });

  it('lets the last matching pattern decide, whether exact or wildcard', () => {
    const patterns = ['acme/web', '!acme/*', 'acme/web', '!acme/w*'];
    expect(matchRepoPatterns(patterns, 'acme/web').reason).toContain('(repos.allow[3])');
    expect(matchRepoPatterns(patterns.slice(0, 3), 'acme/web').reason).toContain('(repos.allow[2])');
    expect(matchRepoPatterns(patterns.slice(0, 2), 'acme/web').reason).toContain('(repos.allow[1])');
  });

  it('denies everything with an empty allowlist', () => {
    expect(matchRepoPatterns([], 'acme/web')).toEqual({
      allowed: false,
      reason: 'no pattern in repos.allow matches acme/web',
    });
  });
});

describe('evaluateRepoAccess', () => {
  it('reads the policy allowlist', () => {
    const policy = examplePolicy();
    expect(evaluateRepoAccess(policy, 'acme/web-shop')).toEqual({
      allowed: true,
      reason: 'acme/web-shop is allowed by "acme/*" (repos.allow[0])',
    });
    expect(evaluateRepoAccess(policy, 'acme/sandbox-x')).toEqual({
      allowed: false,
      reason: 'acme/sandbox-x is denied by "!acme/sandbox-*" (repos.allow[1])',
    });
  });
});
