import { describe, expect, it } from 'vitest';
import {
  canTransition,
  ENV_STATES,
  isTerminal,
  NON_TERMINAL_STATES,
  nextStates,
  TERMINAL_STATES,
} from '../../../src/runs/run-state-machine.js';
import { RUN_STATES, type RunState } from '../../../src/runs/run-types.js';

describe('run state machine', () => {
  it('has exactly these terminal states, and they are final', () => {
    expect([...TERMINAL_STATES].sort()).toEqual(
      ['cancelled', 'failed', 'rolled-back', 'succeeded', 'superseded'].sort(),
    );
    for (const from of TERMINAL_STATES) {
      for (const to of RUN_STATES) expect(canTransition(from, to)).toBe(false);
    }
  });

  it('walks a release through two environments', () => {
    const path: RunState[] = [
      'queued',
      'gating',
      'deploying',
      'verifying',
      'awaiting-approval',
      'deploying',
      'verifying',
      'succeeded',
    ];
    for (let i = 1; i < path.length; i += 1) expect(canTransition(path[i - 1]!, path[i]!)).toBe(true);
  });

  it('lets a pull-request run end after its gates and a rollback skip them', () => {
    expect(canTransition('gating', 'succeeded')).toBe(true);
    expect(canTransition('queued', 'deploying')).toBe(true);
    expect(canTransition('verifying', 'deploying')).toBe(true);
  });

  it('never moves a state to itself or backwards', () => {
    for (const state of RUN_STATES) expect(canTransition(state, state)).toBe(false);
    expect(canTransition('gating', 'queued')).toBe(false);
    expect(canTransition('verifying', 'gating')).toBe(false);
    expect(canTransition('deploying', 'awaiting-approval')).toBe(false);
  });

  it('can fail or cancel from every non-terminal state', () => {
    for (const state of NON_TERMINAL_STATES) {
      expect(canTransition(state, 'failed')).toBe(true);
      expect(canTransition(state, 'cancelled')).toBe(true);
      expect(isTerminal(state)).toBe(false);
    }
  });

  it('never supersedes a rollout that is being verified, and rolls back only from a rollout', () => {
    expect(canTransition('verifying', 'superseded')).toBe(false);
    expect(canTransition('awaiting-approval', 'superseded')).toBe(true);
    expect(RUN_STATES.filter((s) => canTransition(s, 'rolled-back')).sort()).toEqual([
      'deploying',
      'verifying',
    ]);
  });

  it('lists the environment-qualified states', () => {
    expect([...ENV_STATES].sort()).toEqual(['awaiting-approval', 'deploying', 'verifying']);
    expect(nextStates('succeeded')).toEqual([]);
  });
});
