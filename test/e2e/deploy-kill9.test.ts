/**
 * Issue #15: a deploy worker killed with `kill -9` between every pair of steps, for each
 * strategy, on a successful run and on a rollback. Each case: a real worker process
 * (test/support/deploy-worker.ts) SIGKILLed at one boundary, then a new process resuming the
 * same run; it must end as an uninterrupted run ends (test/integration/deploy/kill-matrix.ts).
 * The boundaries are read from the plan, so a new step adds a case.
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

const harnesses: Harness[] = [];
afterEach(async () => {
  killDeployWorkers();
  for (const h of harnesses.splice(0)) await h.close();
});
const track = (h: Harness) => harnesses.push(h);

const MATRIX: [DeployStrategy, DeployPath][] = [
  ['blueGreen', 'success'],
  ['blueGreen', 'rollback'],
  ['canary', 'success'],
  ['canary', 'rollback'],
  ['rolling', 'success'],
  ['rolling', 'rollback'],
];

describe.each(MATRIX)('%s, %s path: a worker killed with SIGKILL, then resumed', (strategy, path) => {
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
});
