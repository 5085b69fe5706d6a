import { describe, expect, it } from 'vitest';
import { evaluateSync } from '../../../src/deploy/evaluate-sync.js';
import { applicationFixture } from './fixtures.js';

const OLD = 'ea8759964626a583667a2bfd08f334ec2070040a';
const OURS = '1111111111111111111111111111111111111111';

describe('evaluateSync on the Argo CD Application fixture', () => {
  it('the fixture as is: Synced at rev1 with a Succeeded operation', () => {
    expect(evaluateSync(applicationFixture(), 'rev1')).toEqual({ state: 'synced', health: 'Healthy' });
    expect(evaluateSync(applicationFixture(), OLD)).toMatchObject({ state: 'waiting' });
  });

  it('waits while our operation is requested or Running, then is synced', () => {
    const app = applicationFixture();
    app.operation = { sync: { revision: OURS } };
    expect(evaluateSync(app, OURS)).toMatchObject({
      state: 'waiting',
      reason: expect.stringContaining('requested'),
    });
    delete app.operation;
    app.status!.operationState = {
      phase: 'Running',
      operation: { sync: { revision: OURS } },
      message: 'waiting for healthy state',
    };
    expect(evaluateSync(app, OURS)).toMatchObject({
      state: 'waiting',
      reason: 'sync Running: waiting for healthy state',
    });
    app.status!.operationState = {
      phase: 'Succeeded',
      operation: { sync: { revision: OURS } },
      syncResult: { revision: OURS },
    };
    expect(evaluateSync(app, OURS)).toMatchObject({ state: 'waiting' }); // sync.status still at rev1
    app.status!.sync = { status: 'Synced', revision: OURS };
    expect(evaluateSync(app, OURS)).toEqual({ state: 'synced', health: 'Healthy' });
  });

  it('a Failed or Error operation for our revision fails; one for another revision does not', () => {
    for (const phase of ['Failed', 'Error']) {
      const app = applicationFixture();
      app.status!.operationState = {
        phase,
        message: 'one or more objects failed to apply',
        syncResult: { revision: OURS },
      };
      expect(evaluateSync(app, OURS)).toEqual({
        state: 'failed',
        phase,
        reason: 'one or more objects failed to apply',
      });
      expect(evaluateSync(app, OLD)).toMatchObject({ state: 'waiting' });
    }
  });

  it('multi-source applications compare `revisions`', () => {
    const app = applicationFixture();
    app.status!.sync = { status: 'Synced', revisions: ['abc', OURS] };
    app.status!.operationState = { phase: 'Succeeded', syncResult: { revisions: ['abc', OURS] } };
    expect(evaluateSync(app, OURS)).toMatchObject({ state: 'synced' });
  });

  it('OutOfSync at our revision is still waiting, and says why', () => {
    const app = applicationFixture();
    app.status!.sync = { status: 'OutOfSync', revision: OURS };
    app.status!.conditions = [{ type: 'ComparisonError', message: 'rpc error: repository not accessible' }];
    expect(evaluateSync(app, OURS)).toEqual({
      state: 'waiting',
      reason: 'at 111111111111 but OutOfSync; ComparisonError: rpc error: repository not accessible',
    });
  });
});
