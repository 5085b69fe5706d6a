import { describe, expect, it } from 'vitest';
import {
  decideApprove,
  decideRead,
  decideRollback,
  rolesOf,
  subjectMatches,
} from '../../../src/auth/access-decisions.js';
import type { Principal } from '../../../src/auth/principal.js';
import { parsePolicy } from '../../../src/policy/parse-policy.js';

const POLICY = `version: 1
notifications: { channel: C0RELEASES }
repos:
  allow: ['acme/*']
  grants:
    acme/web:
      app: web
      environments:
        staging: { path: apps/web/staging }
        production: { path: apps/web/production }
environments:
  staging: { namespace: web-staging }
  production:
    namespace: web-production
    approval:
      approvers: { users: [U0ALICE, U0BOB] }
      required: 1
identities:
  alice: U0ALICE
  bob: U0BOB
  carol: U0CAROL
access:
  viewers: ['org:acme', dave]
  environments:
    production: { operators: ['team:acme/sre', erin] }
`;

function policy() {
  const parsed = parsePolicy(POLICY);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.policy;
}

const person = (login: string, extra: Partial<Principal> = {}): Principal => ({
  login,
  name: null,
  avatarUrl: null,
  via: 'session',
  orgs: [],
  teams: [],
  ...extra,
});
const token = (scope: Principal['scope']): Principal => ({ ...person('token:ci'), via: 'token', scope });

describe('subjects', () => {
  it('match logins, orgs and teams case-insensitively, and nothing else', () => {
    const who = { login: 'Alice', orgs: ['Acme'], teams: ['acme/SRE'] };
    expect(subjectMatches('alice', who)).toBe(true);
    expect(subjectMatches('org:acme', who)).toBe(true);
    expect(subjectMatches('team:acme/sre', who)).toBe(true);
    expect(subjectMatches('team:acme/dev', who)).toBe(false);
    expect(subjectMatches('org:other', who)).toBe(false);
    expect(subjectMatches('alicia', who)).toBe(false);
  });
});

describe('roles from the platform policy', () => {
  it('viewers by org or login; approvers through identities; operators by team or login', () => {
    const p = policy();
    expect(rolesOf(person('zed', { orgs: ['acme'] }), p)).toEqual({
      viewer: true,
      approverOf: [],
      operatorOf: [],
      admin: false,
    });
    expect(rolesOf(person('dave'), p).viewer).toBe(true);
    expect(rolesOf(person('alice'), p)).toMatchObject({ viewer: true, approverOf: ['production'] });
    expect(rolesOf(person('carol'), p)).toMatchObject({ viewer: false, approverOf: [] });
    expect(rolesOf(person('x', { teams: ['acme/sre'] }), p)).toMatchObject({
      viewer: true,
      operatorOf: ['production'],
    });
    expect(rolesOf(person('erin'), p).operatorOf).toEqual(['production']);
  });

  it('a stranger, or anyone without a readable policy, has no role at all', () => {
    expect(decideRead(rolesOf(person('mallory'), policy())).allowed).toBe(false);
    expect(rolesOf(person('alice'), undefined)).toEqual({
      viewer: false,
      approverOf: [],
      operatorOf: [],
      admin: false,
    });
  });

  it('tokens get their scope', () => {
    const p = policy();
    expect(rolesOf(token('read'), p)).toEqual({ viewer: true, approverOf: [], operatorOf: [], admin: false });
    expect(rolesOf(token('approve'), p).approverOf).toEqual(['production']);
    expect(rolesOf(token('rollback'), p).operatorOf).toEqual(['staging', 'production']);
    expect(rolesOf(token('admin'), p).admin).toBe(true);
  });
});

describe('approve', () => {
  const facts = {
    env: 'production',
    releaser: 'alice',
    releaserMayApprove: false,
    decision: 'approve' as const,
  };
  it('refuses a viewer and the releaser, allows another approver', () => {
    const p = policy();
    const zed = person('zed', { orgs: ['acme'] });
    expect(decideApprove(zed, rolesOf(zed, p), facts)).toMatchObject({ allowed: false });
    const alice = person('alice');
    expect(decideApprove(alice, rolesOf(alice, p), facts)).toEqual({
      allowed: false,
      reason: expect.stringMatching(/released this version/),
    });
    const bob = person('bob');
    expect(decideApprove(bob, rolesOf(bob, p), facts).allowed).toBe(true);
  });
  it('lets the releaser reject, and approve when the rule allows it', () => {
    const alice = person('alice');
    const roles = rolesOf(alice, policy());
    expect(decideApprove(alice, roles, { ...facts, decision: 'reject' }).allowed).toBe(true);
    expect(decideApprove(alice, roles, { ...facts, releaserMayApprove: true }).allowed).toBe(true);
  });
});

describe('rollback', () => {
  const frozen = { frozen: true as const, until: new Date('2026-12-24T00:00:00Z'), reason: 'holidays' };
  it('only operators', () => {
    const p = policy();
    const alice = person('alice');
    expect(decideRollback(rolesOf(alice, p), { env: 'production', freeze: { frozen: false } })).toMatchObject(
      {
        allowed: false,
        code: 'not-operator',
      },
    );
    expect(
      decideRollback(rolesOf(person('erin'), p), { env: 'production', freeze: { frozen: false } }),
    ).toEqual({
      allowed: true,
      breakGlass: false,
    });
  });
  it('during a freeze only with a break-glass reason of at least 10 characters', () => {
    const roles = rolesOf(person('erin'), policy());
    expect(decideRollback(roles, { env: 'production', freeze: frozen })).toMatchObject({
      allowed: false,
      code: 'frozen',
      freezeReason: 'holidays',
    });
    expect(
      decideRollback(roles, { env: 'production', freeze: frozen, breakGlassReason: '  too short ' }),
    ).toMatchObject({
      allowed: false,
    });
    expect(
      decideRollback(roles, {
        env: 'production',
        freeze: frozen,
        breakGlassReason: 'checkout is down for everyone',
      }),
    ).toEqual({ allowed: true, breakGlass: true });
  });
});
