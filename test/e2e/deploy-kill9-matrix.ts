/**
 * Issue #15: a deploy worker killed with `kill -9` between every pair of steps, for each
 * strategy, on a successful run and on a rollback. Each case: a real worker process
 * (test/support/deploy-worker.ts) SIGKILLed at one boundary, then a new process resuming the
 * same run; it must end as an uninterrupted run ends (test/integration/deploy/kill-matrix.ts).
 * The boundaries are read from the plan, so a new step adds a case. One file per strategy
 * (deploy-kill9-*.test.ts), so the e2e run spreads them over its workers.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DeployStrategy } from '../../src/deploy/strategies.js';
import { killDeployWorkers } from '../support/deploy-worker.js';
import type { Harness } from '../integration/deploy/deploy-harness.js';
import {
  boundaries,
  describeKill,
  expectSameEnd,
  insideKills,
  runKilledDeploy,
  type DeployPath,
  type Observed,
} from '../integration/deploy/kill-matrix.js';

/** Long enough for a new worker to start while the operation still runs. */
const SLOW_SYNC_MS = 8_000;

export function describeKillMatrix(strategy: DeployStrategy): void {
  const harnesses: Harness[] = [];
  afterEach(async () => {
    killDeployWorkers();
    for (const h of harnesses.splice(0)) await h.close();
  });
  const track = (h: Harness) => harnesses.push(h);
  const PATHS: DeployPath[] = ['success', 'rollback'];

  describe.each(PATHS)(`${strategy}, %s path: a worker killed with SIGKILL, then resumed`, (path) => {
    let reference: Observed;
    beforeAll(async () => {
      reference = await runKilledDeploy(strategy, path, [], track);
      expect(reference.result).toMatchObject({ outcome: path === 'success' ? 'succeeded' : 'rolled-back' });
      killDeployWorkers();
      for (const h of harnesses.splice(0)) await h.close();
    });

    it.each([...boundaries(strategy, path), ...insideKills(strategy, path)].map((k) => [describeKill(k), k]))(
      '%s',
      async (_name, kill) => {
        const killed = await runKilledDeploy(strategy, path, [kill], track);
        expect(killed.exits).toEqual(['SIGKILL', '0']);
        expectSameEnd(killed, reference, strategy === 'canary');
      },
    );

    // One deploy, a worker killed after every step in turn: each resumes the one before it, and
    // the last finishes. Twenty worker starts on a loaded machine can take longer than the
    // harness's 60 s deploy deadline, which would (rightly) roll the deploy back.
    it('killed after every step in turn, one worker per step', async () => {
      const kills = boundaries(strategy, path);
      const killed = await runKilledDeploy(strategy, path, kills, track, { progressDeadlineSeconds: 600 });
      expect(killed.exits).toEqual([...kills.map(() => 'SIGKILL'), '0']);
      expectSameEnd(killed, reference, strategy === 'canary');
    }, 300_000);

    // The worker dies right after Argo CD accepted the sync (the release's, or on the rollback
    // path the revert's), and the next one finds the operation still Running: it must wait for
    // it, not request a second one.
    const call = path === 'success' ? 1 : 2;
    it(`inside: sync #${call} sent, still running when resumed`, async () => {
      const killed = await runKilledDeploy(strategy, path, [{ inside: 'sync', call }], track, {
        syncDelayMs: SLOW_SYNC_MS,
      });
      expect(killed.exits).toEqual(['SIGKILL', '0']);
      // Otherwise the case proves nothing: the operation had finished before the resume.
      const starts = killed.steps.filter((s) => s.event.type === 'start');
      const killedAt = starts.filter((s) => s.pid === starts[0]!.pid).at(-1)!.at;
      const resumedAt = starts.find((s) => s.pid !== starts[0]!.pid)!.at;
      expect(resumedAt - killedAt).toBeLessThan(SLOW_SYNC_MS);
      expectSameEnd(killed, reference, strategy === 'canary');
    });
  });
}
