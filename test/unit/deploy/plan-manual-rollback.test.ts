import { describe, expect, it } from 'vitest';
import { planManualRollback, type EnvCommit } from '../../../src/deploy/plan-manual-rollback.js';
import { RollbackTargetNotFound } from '../../../src/errors.js';

function release(sha: string, tag: string, gates = 'tests=passed trivy=passed zap=passed'): EnvCommit {
  return {
    sha,
    trailers: [
      ['Shipgate-Run', `run-${tag}`],
      ['Source-Repo', 'acme/api'],
      ['Source-Commit', `${sha.slice(0, 4)}cafe${'0'.repeat(32)}`],
      ['Image', `ghcr.io/acme/api:${tag}`],
      ['Gates', gates],
    ],
  };
}
const sha = (c: string) => c.repeat(40);

// Newest first: v1.3.0 was deployed and reverted by a gate; v1.2.1 is live; v1.2.0 and v1.1.0 are earlier.
const history: EnvCommit[] = [
  {
    sha: sha('e'),
    trailers: [['Reverts', sha('d')]],
    message: `Revert "deploy api v1.3.0 to production"\n\nThis reverts commit ${sha('d')}.`,
  },
  release(sha('d'), 'v1.3.0'),
  release(sha('c'), 'v1.2.1'),
  { sha: sha('9'), trailers: [], message: 'chore: edit the README by hand' },
  release(sha('b'), 'v1.2.0', 'tests=passed trivy=failed'),
  release(sha('a'), 'v1.1.0'),
];

describe('planManualRollback', () => {
  it('without --to: the newest good release before the live one, skipping bad ones', () => {
    const plan = planManualRollback({ liveCommits: history });
    expect(plan.current).toEqual({ sha: sha('c') });
    expect(plan.target).toMatchObject({ sha: sha('a'), tag: 'v1.1.0', image: 'ghcr.io/acme/api:v1.1.0' });
    expect(plan.skipped).toEqual([
      { sha: sha('b'), why: 'recorded a failed gate (tests=passed trivy=failed)' },
    ]);
    expect(plan.trailers).toEqual([
      ['Shipgate-Rollback-To', sha('a')],
      ['Shipgate-Rollback-From', sha('c')],
    ]);
  });

  it('--to a tag, an env-repo sha prefix, or a source commit', () => {
    expect(planManualRollback({ liveCommits: history, to: 'v1.1.0' }).target.sha).toBe(sha('a'));
    expect(planManualRollback({ liveCommits: history, to: 'aaaaaaa' }).target.sha).toBe(sha('a'));
    expect(planManualRollback({ liveCommits: history, to: `aaaacafe${'0'.repeat(8)}` }).target.sha).toBe(
      sha('a'),
    );
  });

  it('refuses a reverted release, the live one, and unknown targets, with the reason', () => {
    expect(() => planManualRollback({ liveCommits: history, to: 'v1.3.0' })).toThrow(
      /reverted after a failed gate/,
    );
    expect(() => planManualRollback({ liveCommits: history, to: 'v1.2.1' })).toThrow(/live now/);
    expect(() => planManualRollback({ liveCommits: history, to: 'v9.9.9' })).toThrow(/matches no release/);
    try {
      planManualRollback({ liveCommits: history.slice(0, 3) });
      expect.unreachable();
    } catch (err) {
      expect(RollbackTargetNotFound.is(err)).toBe(true);
    }
  });

  it('a digest-only image names no tag', () => {
    const c = release(sha('f'), 'x');
    (c.trailers as [string, string][])[3] = ['Image', 'ghcr.io/acme/api@sha256:' + 'f'.repeat(64)];
    const plan = planManualRollback({ liveCommits: [release(sha('1'), 'v2'), c] });
    expect(plan.target).toMatchObject({ sha: sha('f'), tag: undefined });
  });
});
