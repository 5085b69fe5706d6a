/**
 * The deploy orchestrator: runs a StepPlan against the run's step ledger.
 *
 * - A step with a recorded result is skipped and its output reused, so a worker killed at any
 *   step resumes there and never repeats a finished side effect.
 * - A step claimed by an attempt that died before recording it is first `reconcile`d against
 *   the world (did the resume get through?) before it runs again.
 * - The first check that fails is recorded as the verdict, for good: a retried job only
 *   finishes the rollback. The rollback is the compensations of the steps that ran, in reverse
 *   order, then the plan's `onFailure` steps, each through the ledger too.
 * - One AbortSignal (the lock's lease and the worker's cancellation) reaches every step; once
 *   it aborts no further step starts, and the deploy ends with its reason.
 */
import { DeployCancelled, DeployStepTimeout, isRetryable, ShipgateError } from '../errors.js';
import { retry } from '../retry/retry.js';
import type {
  RunStepPlanOptions,
  Step,
  StepContext,
  StepEvent,
  StepFailure,
  StepOutcome,
  StepPlan,
  StepPlanResult,
} from './step-plan.js';

interface Verdict {
  failure: StepFailure;
  /** Index of the forward step that failed: steps up to it are compensated. */
  at: number;
}

type Phase = 'forward' | 'rollback';

/** Throws at build time when a step reads an output no earlier step writes. */
export function validateStepPlan(plan: StepPlan): void {
  const seen = new Set<string>();
  const keys = new Set<string>();
  const all = [...plan.steps, ...plan.steps.flatMap((s) => s.compensation ?? []), ...plan.onFailure];
  for (const step of all) {
    const key = step.key ?? step.name;
    if (keys.has(key)) throw new Error(`step plan ${plan.scope}: two steps use the key ${key}`);
    keys.add(key);
  }
  for (const step of plan.steps) {
    for (const input of step.inputs ?? []) {
      if (!seen.has(input)) throw new Error(`step ${step.name} reads ${input}, which no earlier step writes`);
    }
    seen.add(step.name);
  }
}

function stopped(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  // A lost lease says so; anything else (shutdown, a cancelled run) is a cancellation.
  if (reason instanceof ShipgateError) return reason;
  return DeployCancelled({ cause: reason });
}

export async function runStepPlan(plan: StepPlan, options: RunStepPlanOptions): Promise<StepPlanResult> {
  validateStepPlan(plan);
  const { ledger } = options;
  const signal = options.signal ?? new AbortController().signal;
  const outputs = new Map<string, unknown>();
  const ledgerKey = (k: string) => `${plan.scope}:${k}`;

  const now = options.now ?? Date.now;

  /** The step's timeout for this attempt: what is left of it when it counts from the first start. */
  async function timeLeft(step: Step, key: string): Promise<number | undefined> {
    if (step.timeoutMs === undefined || step.timeoutFrom !== 'first-start') return step.timeoutMs;
    const deadlineKey = `${key}:deadline`;
    let recorded = (await ledger.result(deadlineKey)) as { at: number } | undefined;
    if (recorded === undefined) {
      recorded = { at: now() + step.timeoutMs };
      await ledger.save(deadlineKey, recorded);
    }
    return Math.max(0, recorded.at - now());
  }

  async function runOne(step: Step, phase: Phase, failure?: StepFailure): Promise<StepOutcome> {
    if (signal.aborted) throw stopped(signal);
    const key = ledgerKey(step.key ?? step.name);
    const observe = (event: StepEvent) => options.onStep?.(event);

    const recorded = (await ledger.result(key)) as { output: unknown } | undefined;
    if (recorded !== undefined) {
      outputs.set(step.name, recorded.output ?? undefined);
      observe({ type: 'skip', step: step.name, key, phase, why: 'recorded' });
      return { output: recorded.output ?? undefined };
    }
    const claimed = await ledger.claim(key);
    const timeoutMs = await timeLeft(step, key);
    const stepSignal =
      timeoutMs === undefined ? signal : AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]);
    const ctx: StepContext = {
      signal: stepSignal,
      outputs,
      ...(failure ? { failure } : {}),
      once: async <T>(name: string, act: () => Promise<T>, alreadyDone?: () => Promise<boolean>) => {
        const k = `${key}:${name}`;
        const previous = (await ledger.result(k)) as { output: T } | undefined;
        if (previous !== undefined) return previous.output ?? undefined;
        if (!(await ledger.claim(k)) && alreadyDone && (await alreadyDone())) {
          await ledger.save(k, { output: null });
          return undefined;
        }
        if (signal.aborted) throw stopped(signal);
        stepSignal.throwIfAborted();
        const value = await act();
        await ledger.save(k, { output: value ?? null });
        return value;
      },
    };

    const end = observe({
      type: 'start',
      step: step.name,
      key,
      phase,
      attempt: claimed ? 'first' : 'resumed',
    });
    try {
      if (!claimed && step.reconcile) {
        const seen = await step.reconcile(ctx);
        if (seen.done) {
          await ledger.save(key, { output: seen.output ?? null });
          outputs.set(step.name, seen.output);
          observe({ type: 'skip', step: step.name, key, phase, why: 'reconciled' });
          return { output: seen.output };
        }
      }
      const outcome = await retry(
        (attemptSignal) => step.run({ ...ctx, signal: attemptSignal }),
        step.retry ?? { attempts: 1 },
        stepSignal,
      );
      if ('failure' in outcome) {
        if (!step.check || phase === 'rollback') {
          throw new Error(`step ${step.name} returned a failure but is not a forward check`);
        }
        observe({ type: 'failed', step: step.name, key, phase, failure: outcome.failure });
        return outcome;
      }
      await ledger.save(key, { output: outcome.output ?? null });
      outputs.set(step.name, outcome.output);
      observe({ type: 'done', step: step.name, key, phase });
      return outcome;
    } catch (err) {
      if (signal.aborted) throw stopped(signal);
      let error = err;
      if (stepSignal.aborted && step.timeoutMs !== undefined) {
        // The step's own deadline: for a check that is a verdict, for anything else a
        // retryable error (the ledger resumes at this step).
        if (step.check && phase === 'forward') {
          const timedOut = {
            gate: step.timeoutCheck ?? step.name,
            reason: `${step.name} did not finish within ${Math.round(step.timeoutMs / 1000)}s`,
          };
          observe({ type: 'failed', step: step.name, key, phase, failure: timedOut });
          return { failure: timedOut };
        }
        error = DeployStepTimeout(step.name, step.timeoutMs, { cause: err });
      }
      observe({ type: 'error', step: step.name, key, phase, err: error });
      if (step.bestEffort && isRetryable(error)) {
        options.onBestEffortError?.(step.name, error);
        return { output: undefined };
      }
      throw error;
    } finally {
      if (typeof end === 'function') end();
    }
  }

  /** The first verdict wins: a concurrent or later attempt rolls back what was decided first. */
  async function decide(verdict: Verdict): Promise<Verdict> {
    const key = ledgerKey('verdict');
    if (await ledger.claim(key)) {
      await ledger.save(key, verdict);
      return verdict;
    }
    return ((await ledger.result(key)) as Verdict | undefined) ?? verdict;
  }

  async function rollBack(verdict: Verdict): Promise<StepPlanResult> {
    const ran = plan.steps.slice(0, verdict.at + 1);
    // Outputs of the forward steps that finished (a resumed rollback has not seen them yet).
    for (const step of ran) {
      const r = (await ledger.result(ledgerKey(step.key ?? step.name))) as { output: unknown } | undefined;
      if (r !== undefined) outputs.set(step.name, r.output ?? undefined);
    }
    const compensations = [...ran].reverse().flatMap((s) => s.compensation ?? []);
    for (const step of [...compensations, ...plan.onFailure]) {
      await runOne(step, 'rollback', verdict.failure);
    }
    return { outcome: 'rolled-back', failure: verdict.failure, outputs };
  }

  try {
    const earlier = (await ledger.result(ledgerKey('verdict'))) as Verdict | undefined;
    if (earlier) return await rollBack(earlier);
    for (const [at, step] of plan.steps.entries()) {
      const outcome = await runOne(step, 'forward');
      if ('failure' in outcome) return await rollBack(await decide({ failure: outcome.failure, at }));
    }
    return { outcome: 'succeeded', outputs };
  } finally {
    plan.close?.();
  }
}
