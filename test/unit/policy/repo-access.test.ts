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
