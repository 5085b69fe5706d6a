import { describe, expect, it } from 'vitest';
import type { LiveState } from '../../../src/gitops/read-live.js';
import {
  candidateCommits,
  liveEntryOf,
  lostDeploymentDescription,
  planLostRuns,
} from '../../../src/recovery/plan-recovery.js';
import type { ObservedCheck, ObservedDeployment } from '../../../src/recovery/types.js';

const RUN_A = '01JA0000000000000000000000';
const RUN_B = '01JB0000000000000000000000';
const SHA = 'a'.repeat(40);
const target = { app: 'web', env: 'staging', path: 'apps/web/staging', repo: 'acme/web' };

function live(over: Partial<LiveState>): LiveState {
  return {
    commit: 'c'.repeat(40),
    committedAt: new Date('2026-12-01T10:00:00Z'),
    subject: 'web: release v1 to staging',
    approvedBy: [],
    trailers: [],
    ...over,
  };
}

function check(over: Partial<ObservedCheck>): ObservedCheck {
  return {
    repo: 'acme/web',
    installationId: 1,
    id: 1,
    name: 'shipgate/zap',
    sha: SHA,
    externalId: `${RUN_A}/zap`,
    status: 'in_progress',
    ...over,
  };
}

function deployment(over: Partial<ObservedDeployment>): ObservedDeployment {
  return {
    repo: 'acme/web',
    installationId: 1,
    id: 10,
    sha: SHA,
    environment: 'staging',
    runId: RUN_A,
    latestState: 'in_progress',
    ...over,
  };
}

describe('liveEntryOf', () => {
  it('reads a release commit from its trailers', () => {
    const entry = liveEntryOf(
      target,
      live({ run: RUN_A, image: 'ghcr.io/acme/web@sha256:1', sourceRepo: 'acme/web', sourceCommit: SHA }),
    );
    expect(entry).toMatchObject({
      kind: 'release',
      run: RUN_A,
      sourceCommit: SHA,
      committedAt: '2026-12-01T10:00:00.000Z',
    });
  });
  it('tells a revert, a hand-made commit and an empty folder apart', () => {
    expect(liveEntryOf(target, live({ run: RUN_A, reverts: 'd'.repeat(40) })).kind).toBe('revert');
    expect(liveEntryOf(target, live({})).kind).toBe('manual');
    expect(liveEntryOf(target, null)).toEqual({ ...target, kind: 'none' });
  });
});

describe('candidateCommits', () => {
  it('gathers released commits, pull-request heads, tagged commits and deployed commits per repo', () => {
    const out = candidateCommits({
      recentEnvCommits: [
        live({ run: RUN_A, sourceRepo: 'Acme/Web', sourceCommit: SHA }),
        live({ sourceRepo: 'acme/web', sourceCommit: 'e'.repeat(40) }), // no Shipgate-Run: a person's
      ],
      pullHeads: [{ repo: 'acme/api', sha: 'b'.repeat(40) }],
      // A release lost in its first gates: only its tag points at it.
      tagCommits: [{ repo: 'ACME/web', sha: '1'.repeat(40) }],
      deployments: [
        deployment({ sha: 'f'.repeat(40) }),
        deployment({ runId: undefined, sha: '0'.repeat(40) }),
      ],
    });
    expect([...(out.get('acme/web') ?? [])].sort()).toEqual(['1'.repeat(40), SHA, 'f'.repeat(40)]);
    expect([...(out.get('acme/api') ?? [])]).toEqual(['b'.repeat(40)]);
  });
});

describe('planLostRuns', () => {
  it('groups the open checks and deployments of runs the store does not know', () => {
    const lost = planLostRuns({
      checks: [
        check({ id: 1 }),
        check({ id: 2, name: 'shipgate/tests', externalId: `${RUN_A}/tests`, status: 'completed' }),
        check({ id: 3, externalId: `${RUN_B}/trivy`, name: 'shipgate/trivy', status: 'queued' }),
        check({ id: 4, externalId: 'someone-else' }),
        check({ id: 5, externalId: undefined }),
      ],
      deployments: [
        deployment({}),
        deployment({ id: 11, latestState: 'success' }),
        deployment({ id: 12, latestState: undefined }),
      ],
      knownRunIds: new Set([RUN_B]),
    });
    expect(lost).toEqual([
      {
        runId: RUN_A,
        repo: 'acme/web',
        installationId: 1,
        sha: SHA,
        checks: [{ id: 1, name: 'shipgate/zap' }],
        deployments: [
          { id: 10, environment: 'staging' },
          { id: 12, environment: 'staging' },
        ],
      },
    ]);
  });
  it('finds nothing on a healthy store, and nothing once everything is completed', () => {
    expect(
      planLostRuns({ checks: [check({})], deployments: [deployment({})], knownRunIds: new Set([RUN_A]) }),
    ).toEqual([]);
    expect(
      planLostRuns({
        checks: [check({ status: 'completed' })],
        deployments: [deployment({ latestState: 'error' })],
        knownRunIds: new Set(),
      }),
    ).toEqual([]);
  });
  it('words a deployment status within GitHub limit', () => {
    expect(lostDeploymentDescription(RUN_A).length).toBeLessThanOrEqual(140);
  });
});
