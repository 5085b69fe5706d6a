/**
 * A deploy as data (the shape of Kargo's `pkg/promotion`): a plan is a list of steps, each
 * with a name, an idempotency key, the outputs it reads and writes, a timeout and a retry
 * policy, whether it is a check (its failure rolls the deploy back) and its compensation.
 * `runStepPlan` runs a plan; the strategies (`blue-green-steps.ts`, …) only build one.
 */
import type { RetryPolicy } from '../retry/retry.js';
import type { StepStore } from './ports.js';

/** Why a check said no. `gate` names the check (see checks.ts for the vocabulary). */
export interface StepFailure {
  gate: string;
  reason: string;
}

/** What a step hands back: an output for later steps, or (checks only) a failure. */
export type StepOutcome = { output?: unknown } | { failure: StepFailure };

export interface StepContext {
  /**
   * The deploy's signal (lease, cancellation) combined with this step's timeout. Pass it to
   * every call that waits; after it aborts the step must make no further side effect.
   */
  signal: AbortSignal;
  /** Outputs of earlier steps, by step name (only those named in `inputs` are guaranteed). */
  outputs: ReadonlyMap<string, unknown>;
  /** The failure being rolled back; set for compensation and on-failure steps. */
  failure?: StepFailure;
  /**
   * A side effect inside a step that must happen at most once per run (a notification while
   * waiting, the sync request inside "sync and wait"). Keyed under the step's own key.
   */
  once<T>(name: string, act: () => Promise<T>, alreadyDone?: () => Promise<boolean>): Promise<T | undefined>;
}

export interface Step {
  /** Stable within the plan; later steps read this step's output under it. */
  name: string;
  /**
   * The ledger key. Unique within the run's plan scope; a step whose key has a recorded result
   * is never run again, so keys carry whatever makes the effect distinct (e.g. the revision).
   * @defaultValue name
   */
  key?: string;
  /** Names of earlier steps whose outputs `run` reads. Checked when the plan is built. */
  inputs?: readonly string[];
  /** What `run` returns as its output, for readers of the plan (docs and the observer). */
  outputs?: readonly string[];
  /** Bounds the whole step, retries included. @defaultValue none: only the deploy signal */
  timeoutMs?: number;
  /**
   * Where `timeoutMs` counts from. `attempt`: from this worker's start of the step (a bound on
   * a hung call; a resumed step gets it afresh). `first-start`: from the step's first start,
   * recorded in the ledger, so the time a killed worker was away counts (a deadline of the
   * world, such as a canary step's: a worker restarting every few minutes must not keep
   * pushing it back). @defaultValue 'attempt'
   */
  timeoutFrom?: 'attempt' | 'first-start';
  /** Retries of `run` on retryable errors (src/retry/retry.ts). @defaultValue one attempt */
  retry?: RetryPolicy;
  /**
   * A check: its failure (a `{ failure }` outcome or its timeout) rolls the deploy back.
   * @defaultValue false
   */
  check?: boolean;
  /** The check a timeout of this step fails. @defaultValue the step's name */
  timeoutCheck?: string;
  /**
   * An earlier attempt claimed this step and died before recording it: look at the world and
   * say whether the effect got through (then its output), so it is not sent twice.
   */
  reconcile?(ctx: StepContext): Promise<{ done: true; output?: unknown } | { done: false }>;
  /** Undoes this step's effect when a later (or this) check fails; run in reverse step order. */
  compensation?: readonly Step[];
  /**
   * A compensation or on-failure step whose retryable error is logged and passed over (the
   * rest of the rollback still runs). @defaultValue false
   */
  bestEffort?: boolean;
  run(ctx: StepContext): Promise<StepOutcome>;
}

export interface StepPlan {
  /** Prefixes every ledger key: one run may hold several plans (environments, revisions). */
  scope: string;
  steps: readonly Step[];
  /** After the compensations: what every failed deploy does last (status, notification). */
  onFailure: readonly Step[];
  /** Releases what the steps opened (a watch), however the plan ends. */
  close?(): void;
}

export type StepEvent =
  | { type: 'start'; step: string; key: string; phase: 'forward' | 'rollback'; attempt: 'first' | 'resumed' }
  | { type: 'skip'; step: string; key: string; phase: 'forward' | 'rollback'; why: 'recorded' | 'reconciled' }
  | { type: 'done'; step: string; key: string; phase: 'forward' | 'rollback' }
  | { type: 'failed'; step: string; key: string; phase: 'forward' | 'rollback'; failure: StepFailure }
  | { type: 'error'; step: string; key: string; phase: 'forward' | 'rollback'; err: unknown };

/**
 * One hook for tracing and metrics: `onStep` sees each step start and end. It may return a
 * function called when the step ends (a span's `end`), whatever the outcome.
 */
export type StepObserver = (event: StepEvent) => void | (() => void);

export interface RunStepPlanOptions {
  ledger: StepStore;
  /** The deploy lock's lease and the worker's cancellation, in one signal. */
  signal?: AbortSignal;
  onStep?: StepObserver;
  /** Epoch milliseconds, for deadlines that span a resume (`timeoutFrom`). @defaultValue Date.now */
  now?: () => number;
  /** Errors of best-effort steps, for the log. */
  onBestEffortError?: (step: string, err: unknown) => void;
}

export type StepPlanResult =
  | { outcome: 'succeeded'; outputs: ReadonlyMap<string, unknown> }
  | { outcome: 'rolled-back'; failure: StepFailure; outputs: ReadonlyMap<string, unknown> };
