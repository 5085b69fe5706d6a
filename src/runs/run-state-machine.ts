import { RUN_STATES, type RunState } from './run-types.js';

/**
 * The run state machine, as a pure table. The store enforces it inside its compare-and-set
 * script, so no code path can move a run along an edge that is not listed here.
 *
 *   queued ──▶ gating ──▶ deploying(env) ──▶ verifying(env) ──▶ awaiting-approval(env) ──▶ deploying(env') …
 *      │          │             │                 │   └──────────▶ deploying(env')   (next env needs no approval)
 *      │          │             │                 └──▶ succeeded
 *      │          └──▶ succeeded (pull-request runs end after their gates)
 *      └──▶ deploying(env) (a rollback skips the gates)
 *
 * Any non-terminal state may end in `failed` or `cancelled`. `rolled-back` follows a failed
 * rollout (`deploying`/`verifying`). `superseded` is reachable only before a rollout is in
 * flight (`queued`, `gating`, `deploying` while waiting for the deploy lock, and
 * `awaiting-approval`): a newer push or release replaces the run. A verifying rollout is
 * never superseded; it has to finish or roll back.
 */
const EDGES: Readonly<Record<RunState, readonly RunState[]>> = {
  queued: ['gating', 'deploying', 'failed', 'cancelled', 'superseded'],
  gating: ['deploying', 'succeeded', 'failed', 'cancelled', 'superseded'],
  deploying: ['verifying', 'failed', 'rolled-back', 'cancelled', 'superseded'],
  verifying: ['awaiting-approval', 'deploying', 'succeeded', 'failed', 'rolled-back', 'cancelled'],
  'awaiting-approval': ['deploying', 'failed', 'cancelled', 'superseded'],
  succeeded: [],
  failed: [],
  'rolled-back': [],
  cancelled: [],
  superseded: [],
};

export const TERMINAL_STATES: readonly RunState[] = RUN_STATES.filter((s) => EDGES[s].length === 0);

/** States that always name an environment (`currentEnv`). */
export const ENV_STATES: readonly RunState[] = ['deploying', 'verifying', 'awaiting-approval'];

export const NON_TERMINAL_STATES: readonly RunState[] = RUN_STATES.filter((s) => !isTerminal(s));

export function isTerminal(state: RunState): boolean {
  return EDGES[state].length === 0;
}

export function isEnvState(state: RunState): boolean {
  return ENV_STATES.includes(state);
}

/** True when a run in `from` may move to `to`. No state moves to itself. */
export function canTransition(from: RunState, to: RunState): boolean {
  return EDGES[from].includes(to);
}

/** The states a run may reach from `from`. */
export function nextStates(from: RunState): readonly RunState[] {
  return EDGES[from];
}
