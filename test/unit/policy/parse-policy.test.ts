import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../../src/policy/parse-policy.js';
import type { ConfigIssue } from '../../../src/yaml/parse-yaml-with-schema.js';
import { examplePolicy, policyFrom } from './policy-fixtures.js';

const MINIMAL = `version: 1
repos:
  allow: [acme/*]
  grants:
    acme/web:
      app: web
      environments:
        staging: { path: apps/web/staging }
environments:
  staging:
    namespace: staging
`;

function issues(text: string): ConfigIssue[] {
  const result = parsePolicy(text);
  if (result.ok) throw new Error('expected the policy to be refused');
  return result.errors;
}

const where = (list: ConfigIssue[]) => list.map((i) => `${i.line}:${i.column} ${i.yamlPath}`);

describe('valid policies', () => {
  it('parses the documented example', () => {
    const policy = examplePolicy();
    expect(policy.repos.allow).toEqual(['acme/*', '!acme/sandbox-*', 'acme/sandbox-shared']);
    expect(policy.environments.production!.approval).toEqual({
      approvers: { users: ['U0ALICE01', 'U0BOB0002'], userGroups: ['S0SRETEAM'] },
      required: 2,
      releaserMayApprove: false,
      expiresAfterHours: 24,
      channel: 'C0PRODAPPR',
    });
    expect(policy.environments.production!.freezeWindows).toEqual([
      {
        kind: 'once',
        start: '2025-12-19 17:00',
        end: '2026-01-05 08:00',
        timeZone: 'Europe/Berlin',
        reason: 'Year-end freeze',
      },
      {
        kind: 'weekly',
        days: ['fri'],
        from: '16:00',
        to: '09:00',
        timeZone: 'Europe/Berlin',
        reason: 'No Friday-evening production deploys',
      },
    ]);
    expect(policy.identities).toEqual({ 'alice-gh': 'U0ALICE01', 'bob-gh': 'U0BOB0002' });
  });

  it('applies the safe defaults', () => {
    const policy = policyFrom(MINIMAL);
    expect(policy.releaseTagPattern).toBe('v*');
    expect(policy.forkPullRequests).toBe('none');
    expect(policy.zap.pullRequestTargetHosts).toEqual([]);
    expect(policy.freezeWindows).toEqual([]);
    expect(policy.identities).toEqual({});
    expect(policy.environments.staging).toEqual({
      namespace: 'staging',
      mode: 'direct',
      requireBlueGreen: true,
      allowClusterScoped: false,
      freezeWindows: [],
    });
  });

  it('fills approval defaults: one approval, releaser may not approve, 24 hours', () => {
    const policy = policyFrom(
      `${MINIMAL}    approval:\n      approvers: { userGroups: [S0OPS] }\nnotifications: { channel: C0DEPLOY }\n`,
    );
    expect(policy.environments.staging!.approval).toEqual({
      approvers: { users: [], userGroups: ['S0OPS'] },
      required: 1,
      releaserMayApprove: false,
      expiresAfterHours: 24,
    });
  });

  it('normalises grant paths', () => {
    const policy = policyFrom(MINIMAL.replace('apps/web/staging', './apps//web/staging/'));
    expect(policy.repos.grants['acme/web']!.environments.staging!.path).toBe('apps/web/staging');
  });
});

describe('invalid policies: field errors', () => {
  it('reports each bad field at its position', () => {
    const text = [
      'version: 1', // 1
      'releaseTagPattern: refs/tags/v*', // 2
      'forkPullRequests: all', // 3
      'repos:', // 4
      '  allow: [acme/*, "acme"]', // 5
      '  grants:', // 6
      '    acme/web:', // 7
      '      app: web', // 8
      '      environments:', // 9
      '        staging: { path: ../other-team }', // 10
      '        prod: { path: .github/workflows }', // 11
      'environments:', // 12
      '  staging:', // 13
      '    namespace: staging', // 14
      '    mode: push', // 15
      '    approval:', // 16
      '      approvers: { users: [alice] }', // 17
      '      channel: "#deploys"', // 18
      '    freezeWindows:', // 19
      '      - start: 2025-12-24', // 20
      '        end: 2025-12-20', // 21
      '        timeZone: Mars/Olympus', // 22
      '        reason: xmas', // 23
      '      - days: [friday]', // 24
      '        from: "18:00"', // 25
      '        to: "25:00"', // 26
      '        timeZone: UTC', // 27
      '        reason: weekend', // 28
      'identities:', // 29
      '  alice: alice@example.com', // 30
      '', //
    ].join('\n');
    expect(where(issues(text))).toEqual([
      '2:20 releaseTagPattern',
      '3:19 forkPullRequests',
      '5:19 repos.allow[1]',
      '10:26 repos.grants["acme/web"].environments.staging.path',
      '11:23 repos.grants["acme/web"].environments.prod.path',
      '15:11 environments.staging.mode',
      '17:28 environments.staging.approval.approvers.users[0]',
      '18:16 environments.staging.approval.channel',
      '22:19 environments.staging.freezeWindows[0].timeZone',
      '24:16 environments.staging.freezeWindows[1].days[0]',
      '26:13 environments.staging.freezeWindows[1].to',
      '30:10 identities.alice',
    ]);
  });

  it('explains freeze window shapes', () => {
    const base = `${MINIMAL}    freezeWindows:\n`;
    const mixed = issues(
      `${base}      - { start: "2025-01-01", days: [mon], timeZone: UTC, reason: mixed up }\n`,
    );
    expect(where(mixed)).toEqual(['13:9 environments.staging.freezeWindows[0]']);
    expect(mixed[0]!.message).toContain('either one-off');
    const incomplete = issues(`${base}      - { days: [mon], from: "09:00", timeZone: UTC, reason: half }\n`);
    expect(incomplete[0]!.message).toBe('this weekly freeze window needs "to"');
    const backwards = issues(
      `${base}      - { start: "2025-01-02 10:00", end: "2025-01-02 09:00", timeZone: UTC, reason: oops }\n`,
    );
    expect(where(backwards)).toEqual(['13:43 environments.staging.freezeWindows[0].end']);
  });

  it('refuses approval settings nobody could satisfy', () => {
    const none = issues(`${MINIMAL}    approval:\n      approvers: {}\n      channel: C0X1\n`);
    expect(where(none)).toEqual(['13:7 environments.staging.approval.approvers']);
    const tooMany = issues(
      `${MINIMAL}    approval:\n      approvers: { users: [U0A1, U0A1] }\n      required: 2\n      channel: C0X1\n`,
    );
    expect(where(tooMany)).toEqual(['14:17 environments.staging.approval.required']);
    expect(tooMany[0]!.message).toBe('2 approvals are required but only 1 users may approve');
  });

  it('refuses unknown keys with a hint', () => {
    const [issue] = issues(
      MINIMAL.replace('    namespace: staging', '    namespace: staging\n    requireBluegreen: false'),
    );
    expect(issue).toMatchObject({ line: 12, column: 5, yamlPath: 'environments.staging.requireBluegreen' });
    expect(issue!.message).toContain('did you mean "requireBlueGreen"');
  });
});

describe('invalid policies: cross-checks', () => {
  it('refuses grants the allowlist does not allow', () => {
    const list = issues(MINIMAL.replace('allow: [acme/*]', 'allow: [acme/*, "!acme/web"]'));
    expect(where(list)).toEqual(['5:5 repos.grants["acme/web"]']);
    expect(list[0]!.message).toContain('denied by "!acme/web"');
  });

  it('refuses grants of undefined environments', () => {
    const list = issues(
      MINIMAL.replace(
        'staging: { path: apps/web/staging }',
        'staging: { path: apps/web/staging }\n        qa: { path: apps/web/qa }',
      ),
    );
    expect(where(list)).toEqual(['9:9 repos.grants["acme/web"].environments.qa']);
  });

  it('refuses overlapping paths, across repos and within one', () => {
    const text = `version: 1
repos:
  allow: [acme/*]
  grants:
    acme/web:
      app: web
      environments:
        staging: { path: apps/web }
        production: { path: apps/web/production }
    acme/api:
      app: api
      environments:
        staging: { path: apps/web-api/staging }
        production: { path: apps }
environments:
  staging: { namespace: staging }
  production: { namespace: production }
`;
    const list = issues(text);
    expect(where(list)).toEqual([
      '9:29 repos.grants["acme/web"].environments.production.path',
      '14:29 repos.grants["acme/api"].environments.production.path',
    ]);
    expect(list[0]!.message).toContain('overlaps "apps/web" (acme/web, staging)');
  });

  it('refuses paths that reach the policy folder', () => {
    for (const path of ['shipgate', 'shipgate/apps', './shipgate/']) {
      const list = issues(MINIMAL.replace('apps/web/staging', path));
      expect(list[0]!.message).toContain('policy folder');
    }
  });

  it('refuses duplicate grants and identities that differ only in case', () => {
    const text = MINIMAL.replace(
      '    acme/web:\n',
      '    Acme/Web:\n      app: web2\n      environments: {}\n    acme/web:\n',
    ).concat('identities:\n  Alice: U0A1\n  alice: U0A2\n');
    expect(where(issues(text))).toEqual(['8:5 repos.grants["acme/web"]', '17:3 identities.alice']);
  });

  it('refuses approvals without a channel', () => {
    const list = issues(`${MINIMAL}    approval:\n      approvers: { users: [U0A1] }\n`);
    expect(where(list)).toEqual(['12:5 environments.staging.approval']);
  });
});

describe('hostile policies', () => {
  it('refuses a YAML bomb at line 1', () => {
    const lines = ['version: 1', 'x0: &x0 [a, a, a, a, a, a, a, a, a, a]'];
    for (let i = 1; i < 8; i += 1)
      lines.push(
        `x${i}: &x${i} [${Array(10)
          .fill(`*x${i - 1}`)
          .join(', ')}]`,
      );
    expect(issues(lines.join('\n'))).toEqual([
      expect.objectContaining({ line: 1, column: 1, file: 'shipgate/policy.yml' }),
    ]);
  });

  it('refuses a file over 256 KiB', () => {
    expect(issues(`${MINIMAL}#${'x'.repeat(256 * 1024)}`)[0]!.message).toMatch(/larger than 256\.0 KiB/);
  });

  it.each([
    [
      'a grant',
      MINIMAL.replace(
        '    acme/web:\n',
        '    __proto__:\n      app: x\n      environments: {}\n    acme/web:\n',
      ),
      '5:5',
    ],
    [
      'an environment',
      MINIMAL.replace(
        '  staging:\n    namespace',
        '  constructor:\n    namespace: x\n  staging:\n    namespace',
      ),
      '10:3',
    ],
    ['an identity', `${MINIMAL}identities:\n  alice: U0A1\n  prototype: U0A2\n`, '14:3'],
    ['the top level', `__proto__: { version: 2 }\n${MINIMAL}`, '1:1'],
  ])('refuses a __proto__, constructor or prototype key in %s, where it stands', (_what, text, at) => {
    const list = issues(text);
    expect(list.map((i) => `${i.line}:${i.column}`)).toEqual([at]);
    expect(list[0]!.message).toMatch(/^the key "(__proto__|constructor|prototype)" is not allowed/);
  });

  it.each([
    ['acme/..', '".." is not a repository name'],
    ['acme/.git', 'must not end in ".git"'],
    ['ac--me/web', 'single hyphens'],
  ])('refuses a grant for %s, a name GitHub could not hold', (repo, reason) => {
    const list = issues(MINIMAL.replace('    acme/web:', `    "${repo}":`));
    expect(list[0]!.message).toContain(reason);
    expect(list[0]!.line).toBe(5);
  });

  it('refuses repo patterns with more than four wildcards, or exact names GitHub could not hold', () => {
    const list = issues(MINIMAL.replace('allow: [acme/*]', 'allow: [acme/*, "*/*a*b*c*d", "acme/.."]'));
    expect(where(list)).toEqual(['3:19 repos.allow[1]', '3:33 repos.allow[2]']);
    expect(list[0]!.message).toContain('has 5 wildcards, more than the 4 allowed');
    expect(list[1]!.message).toContain('".." is not a repository name');
  });

  it('refuses more than 100 wildcard patterns, and takes any number of exact names', () => {
    const exact = Array.from({ length: 900 }, (_, i) => `acme/r${i}`);
    expect(parsePolicy(MINIMAL.replace('allow: [acme/*]', `allow: [acme/*, ${exact.join(', ')}]`)).ok).toBe(
      true,
    );
    const wild = Array.from({ length: 101 }, (_, i) => `acme/r${i}-*`);
    const list = issues(MINIMAL.replace('allow: [acme/*]', `allow: [${wild.join(', ')}]`));
    expect(where(list)).toEqual(['3:3 repos.allow']);
    expect(list[0]!.message).toContain('101 patterns with "*", more than the 100 allowed');
  });
});
