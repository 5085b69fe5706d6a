/**
 * Which deliveries Shipgate acts on. A pure decision, shared by the ingress (enqueue or
 * acknowledge) and the missed-delivery sweep (only redeliver what would be enqueued).
 *
 * - `push`, `create`: every action (there is none); the pipeline decides tag vs branch.
 * - `pull_request`: the actions that change what a PR run must test, or end it.
 * - `check_run`: `rerequested` (the "Re-run" button) and `requested_action` (our buttons).
 *   `created`/`completed` are ignored: Shipgate creates and completes its own check runs, so
 *   taking them would feed our own writes back to us.
 * - `check_suite`: `rerequested` only. `requested` duplicates the `push` we already take, and
 *   `completed` is the echo of our own work.
 * - `installation`, `installation_repositories`: every action (bookkeeping of where we run).
 */
export type EventDecision = { kind: 'ping' } | { kind: 'handled' } | { kind: 'ignored'; reason: string };

const HANDLED_ACTIONS: Readonly<Record<string, ReadonlySet<string> | 'all'>> = {
  push: 'all',
  create: 'all',
  pull_request: new Set(['opened', 'synchronize', 'reopened', 'ready_for_review', 'closed']),
  check_run: new Set(['rerequested', 'requested_action']),
  check_suite: new Set(['rerequested']),
  installation: 'all',
  installation_repositories: 'all',
};

export const HANDLED_EVENTS: readonly string[] = Object.keys(HANDLED_ACTIONS);

export function classifyEvent(event: string, action: string | undefined): EventDecision {
  if (event === 'ping') return { kind: 'ping' };
  const actions = HANDLED_ACTIONS[event];
  if (actions === undefined) return { kind: 'ignored', reason: 'event not handled' };
  if (actions === 'all') return { kind: 'handled' };
  if (action === undefined) return { kind: 'ignored', reason: 'event without an action' };
  return actions.has(action) ? { kind: 'handled' } : { kind: 'ignored', reason: 'action not handled' };
}
