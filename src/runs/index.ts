/** The runs domain: run records, their state machine and event log, and the deploy lock. */
export { DeployLock, type DeployLockOptions, type WaitTurnResult } from './deploy-lock.js';
export { isRunId, newRunId } from './run-id.js';
export { RunKeys } from './run-keys.js';
export {
  canTransition,
  ENV_STATES,
  isEnvState,
  isTerminal,
  nextStates,
  NON_TERMINAL_STATES,
  TERMINAL_STATES,
} from './run-state-machine.js';
export {
  ListRunsQuerySchema,
  RunStore,
  type AppendEventResult,
  type ListRunsPage,
  type ListRunsQuery,
  type RunStoreOptions,
  type TransitionFailure,
  type TransitionInput,
  type TransitionResult,
  type UpdateFieldsResult,
} from './run-store.js';
export * from './run-types.js';
