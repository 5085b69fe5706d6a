import { describe, expect, it } from 'vitest';
import { RunInputInvalid, RunRecordCorrupt } from '../../../src/errors.js';
import { isRunId, newRunId } from '../../../src/runs/run-id.js';
import { boundedJson, eventFromJson, eventToJson, runFromHash } from '../../../src/runs/run-record.js';
import { RUN_LIMITS } from '../../../src/runs/run-types.js';

describe('run ids', () => {
  it('are ULIDs that sort by creation time, also within one millisecond', () => {
    const t = Date.UTC(2025, 0, 2, 3, 4, 5, 6);
    const ids = [newRunId(t), newRunId(t), newRunId(t), newRunId(t + 1), newRunId(t + 1000)];
    for (const id of ids) expect(isRunId(id)).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    // The first 10 characters encode the millisecond timestamp.
    expect(ids[0]!.slice(0, 10)).toBe(ids[1]!.slice(0, 10));
    expect(ids[3]!.slice(0, 10) > ids[0]!.slice(0, 10)).toBe(true);
  });

  it('rejects things that are not run ids', () => {
    for (const bad of [
      '',
      'abc',
      '01HZZZZZZZZZZZZZZZZZZZZZZ',
      '01hzzzzzzzzzzzzzzzzzzzzzzz',
      '../../etc/passwd',
    ]) {
      expect(isRunId(bad)).toBe(false);
    }
  });
});

describe('run records', () => {
  const hash = {
    id: '01JABCDEFGHJKMNPQRSTVWXYZ0',
    kind: 'release',
    repo: 'acme/shop',
    installationId: '42',
    sha: 'a'.repeat(40),
    ref: 'refs/tags/v1.2.3',
    tag: 'v1.2.3',
    releaser: 'octocat',
    state: 'deploying',
    currentEnv: 'staging',
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:01:00.000Z',
    version: '3',
    idempotencyKey: 'release:acme/shop:v1.2.3',
    gates: '{"tests":{"status":"passed"}}',
    approvals: '[]',
  };

  it('parses a stored hash into a typed run without undefined keys', () => {
    const run = runFromHash(hash);
    expect(run).toMatchObject({ installationId: 42, version: 3, state: 'deploying', currentEnv: 'staging' });
    expect(run.gates).toEqual({ tests: { status: 'passed' } });
    expect(run.approvals).toEqual([]);
    expect('prNumber' in run).toBe(false);
    expect('idempotencyKey' in run).toBe(false);
  });

  it('reports a corrupt record with its own error code', () => {
    expect(() => runFromHash({ ...hash, state: 'exploded' })).toThrow(
      expect.objectContaining({ code: RunRecordCorrupt.code }),
    );
    expect(() => runFromHash({ ...hash, gates: '{not json' })).toThrow(
      expect.objectContaining({ code: RunRecordCorrupt.code }),
    );
  });

  it('bounds JSON fields', () => {
    expect(boundedJson('gates', { a: 1 }, 100)).toBe('{"a":1}');
    expect(() => boundedJson('gates', { a: 'x'.repeat(200) }, 100)).toThrow(
      expect.objectContaining({ code: RunInputInvalid.code }),
    );
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => boundedJson('gates', cyclic, 100)).toThrow(
      expect.objectContaining({ code: RunInputInvalid.code }),
    );
  });

  it('cuts oversize events down instead of failing', () => {
    const json = eventToJson(
      { type: 'log', message: 'm'.repeat(10_000), data: { blob: 'b'.repeat(RUN_LIMITS.eventDataBytes) } },
      '2025-01-01T00:00:00.000Z',
    );
    const event = eventFromJson('01JABCDEFGHJKMNPQRSTVWXYZ0', json, 7);
    expect(event.seq).toBe(7);
    expect(event.message.length).toBe(RUN_LIMITS.eventMessageChars);
    expect(event.data).toEqual({ dropped: 'too large', bytes: expect.any(Number) });
  });

  it('round-trips a transition event once the store has spliced in "from"', () => {
    const json = eventToJson({ type: 'state', message: 'go' }, '2025-01-01T00:00:00.000Z', {
      to: 'deploying',
      env: 'staging',
    });
    const spliced = `${json.slice(0, -1)},"from":"gating"}`;
    expect(eventFromJson('01JABCDEFGHJKMNPQRSTVWXYZ0', spliced, 2)).toEqual({
      seq: 2,
      at: '2025-01-01T00:00:00.000Z',
      type: 'state',
      message: 'go',
      transition: { from: 'gating', to: 'deploying', env: 'staging' },
    });
  });
});
