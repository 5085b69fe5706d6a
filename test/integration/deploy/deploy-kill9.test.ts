/**
 * A deploy worker killed with `kill -9` (issue #15), in the default suite: one case per
 * strategy, and a canary step deadline that keeps counting while its worker is away. The whole
 * matrix (every step boundary of every strategy, success and rollback) is in
 * test/e2e/deploy-kill9.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DeployStrategy } from '../../../src/deploy/strategies.js';
import { killDeployWorkers, type KillPoint } from '../../support/deploy-worker.js';
import type { Harness } from './deploy-harness.js';
import { boundaries, describeKill, expectSameEnd, runKilledDeploy, type DeployPath } from './kill-matrix.js';

const harnesses: Harness[] = [];
afterEach(async () => {
  killDeployWorkers();
  for (const h of harnesses.splice(0)) await h.close();
});
const track = (h: Harness) => harnesses.push(h);

/** One boundary of each strategy's rollback, checked against the plan so a rename fails here. */
const CASES: [DeployStrategy, DeployPath, KillPoint][] = [
  // The abort got through; the ledger never heard of it.
  ['blueGreen', 'rollback', { inside: 'abort', call: 1 }],
  // The verdict of the failed inline analysis was not recorded yet.
  ['canary', 'rollback', { after: 'failed', step: 'canary-2-pause', phase: 'forward' }],
  // The revert commit is pushed and recorded; its sync not yet requested.
  ['rolling', 'rollback', { after: 'done', step: 'revert', phase: 'rollback' }],
];

describe('a deploy worker killed with SIGKILL, then resumed by a new process', () => {
  it.each(CASES.map(([s, p, k]) => [`${s}, ${p}: ${describeKill(k)}`, s, p, k] as const))(
    '%s',
    async (_name, strategy, path, kill) => {
      if ('after' in kill) {
        expect(boundaries(strategy, path)).toContainEqual(kill);
      }
      const reference = await runKilledDeploy(strategy, path, [], track);
      const killed = await runKilledDeploy(strategy, path, [kill], track);
      expect(killed.exits).toEqual(['SIGKILL', '0']);
      expectSameEnd(killed, reference, strategy === 'canary');
    },
    60_000,
  );

  it("a canary step's deadline counts the time its worker was away", async () => {
    // The controller never gets past step index 2: canary-2-pause waits for a pause that never
    // comes. The first worker is killed 2.5 s into the step's 4 s.
    const killed = await runKilledDeploy(
      'canary',
      'success',
      [{ during: 'canary-2-pause', afterMs: 2_500 }],
      track,
      { scenario: { canary: { stallAtStep: 2 } }, stepDeadlineSeconds: 4 },
    );
    expect(killed.exits).toEqual(['SIGKILL', '0']);
    expect(killed.result).toMatchObject({
      outcome: 'rolled-back',
      gate: 'progress-deadline',
      reason: 'canary-2-pause did not finish within 4s',
      revertSynced: true,
    });
    const pause = killed.steps.filter((s) => s.event.step === 'canary-2-pause');
    const [first, resumed] = pause.filter((s) => s.event.type === 'start');
    const failed = pause.find((s) => s.event.type === 'failed');
    expect(first!.pid).not.toBe(resumed!.pid);
    // The resumed worker had at most the 1.5 s left (it started the step 2.5 s or more after the
    // first), not a fresh 4 s.
    expect(failed!.at - resumed!.at).toBeLessThan(2_500);
    expect(killed.actions).toEqual(['resume', 'abort']);
    expect(killed.history.filter((c) => c.message.startsWith('revert '))).toHaveLength(1);
  }, 60_000);
});
