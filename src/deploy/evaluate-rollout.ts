/**
 * Decides the blue-green stage of one Rollout from its status and its AnalysisRuns, with the
 * exact strings of the Argo Rollouts CRDs: phases Healthy/Progressing/Paused/Degraded,
 * `status.abort`, `pauseConditions[].reason` BlueGreenPause, condition reasons
 * RolloutAborted and ProgressDeadlineExceeded, AnalysisRun phases
 * Successful/Failed/Error/Inconclusive. Pure: no I/O, time comes in as `now`.
 */
import type { CheckName } from './checks.js';
import type { AnalysisRun, Rollout } from './schema.js';

export type RolloutPhase = 'Healthy' | 'Progressing' | 'Paused' | 'Degraded';

/** `None`: no analysis of this kind is configured. `Pending`: configured, no run visible yet. */
export interface AnalysisState {
  phase: 'None' | 'Pending' | 'Running' | 'Successful' | 'Failed' | 'Error' | 'Inconclusive';
  run?: string;
  message?: string;
  /** Only the Rollout's pointer says the phase; the run itself is not seen in it yet. */
  fromPointerOnly?: true;
}

export type RolloutVerdict = { phase: RolloutPhase } & (
  | { stage: 'waiting'; reason: string }
  | {
      stage: 'awaiting-promotion';
      prePromotion: AnalysisState;
      previewSelector?: string;
      pausedSince?: string;
    }
  | { stage: 'paused'; reason: string }
  | { stage: 'needs-person'; reason: string }
  | { stage: 'post-promotion'; postPromotion: AnalysisState }
  | { stage: 'healthy' }
  | {
      stage: 'failed';
      gate: CheckName;
      reason: string;
      /**
       * The Rollout names a failed AnalysisRun that the watch has not delivered in its final
       * state yet (two streams, either may lead): the verdict stands, the reason lacks the
       * metric detail the run itself will carry a moment later.
       */
      detailPending?: true;
    }
);

export interface EvaluateRolloutOptions {
  /** Epoch milliseconds. */
  now: number;
  /** Epoch milliseconds after which a Rollout that is not Healthy fails the progress-deadline gate. */
  deadlineAt?: number;
  /** What an Inconclusive AnalysisRun does. @defaultValue 'wait' */
  inconclusive?: 'wait' | 'fail';
}

const PHASES = new Set<string>(['Healthy', 'Progressing', 'Paused', 'Degraded']);
const TERMINAL_BAD = new Set(['Failed', 'Error']);

function condition(rollout: Rollout, reason: string) {
  return rollout.status?.conditions.find((c) => c.reason === reason);
}

/**
 * False while the controller has not yet reconciled the latest spec: the status still
 * describes the previous version. A legacy hash in `observedGeneration` (pre-1.0
 * controllers) can be larger than `generation`; it says nothing, so it counts as observed.
 */
export function isObserved(rollout: Rollout): boolean {
  const generation = rollout.metadata.generation;
  const observed = rollout.status?.observedGeneration;
  if (generation === undefined || observed === undefined) return true;
  const n = Number(observed);
  if (!Number.isInteger(n) || n > generation) return true;
  return n === generation;
}

/** `status.phase` when the controller writes it (v1.0+), otherwise derived the same way it does. */
export function rolloutPhase(rollout: Rollout): RolloutPhase {
  const s = rollout.status;
  if (s?.phase !== undefined && PHASES.has(s.phase)) return s.phase as RolloutPhase;
  if (s?.abort === true) return 'Degraded';
  if (condition(rollout, 'ProgressDeadlineExceeded') || condition(rollout, 'RolloutAborted'))
    return 'Degraded';
  if ((s?.pauseConditions?.length ?? 0) > 0 || s?.controllerPause === true || rollout.spec?.paused === true) {
    return 'Paused';
  }
  const hash = s?.currentPodHash;
  const blueGreen = rollout.spec?.strategy?.blueGreen !== undefined;
  if (hash !== undefined && s?.stableRS === hash && (!blueGreen || s?.blueGreen?.activeSelector === hash)) {
    return 'Healthy';
  }
  return 'Progressing';
}

function creationTime(run: AnalysisRun): number {
  return Date.parse(run.metadata.creationTimestamp ?? '') || 0;
}

/**
 * The AnalysisRuns that belong to this Rollout's current revision: owned by the Rollout
 * (ownerReferences, by uid when both sides have one) and labelled with its current pod hash
 * (`rollouts-pod-template-hash`), as the controller creates them.
 */
export function currentAnalysisRuns(rollout: Rollout, runs: readonly AnalysisRun[]): AnalysisRun[] {
  const hash = rollout.status?.currentPodHash;
  return runs
    .filter((run) =>
      (run.metadata.ownerReferences ?? []).some(
        (ref) =>
          ref.kind === 'Rollout' &&
          ref.name === rollout.metadata.name &&
          (ref.uid === undefined || rollout.metadata.uid === undefined || ref.uid === rollout.metadata.uid),
      ),
    )
    .filter((run) => hash === undefined || run.metadata.labels?.['rollouts-pod-template-hash'] === hash)
    .sort((a, b) => creationTime(b) - creationTime(a));
}

/** "metric \"error-rate\" Failed: 2 of 3 measurements failed, last value 0.12" for each bad metric. */
export function describeAnalysisRun(run: AnalysisRun): string {
  const bad = (run.status?.metricResults ?? []).filter(
    (m) => m.phase !== 'Successful' && m.phase !== 'Running',
  );
  const parts = bad.map((m) => {
    const last = m.measurements?.at(-1);
    const counts = [
      m.failed ? `${m.failed} failed` : '',
      m.error ? `${m.error} errored` : '',
      m.inconclusive ? `${m.inconclusive} inconclusive` : '',
    ]
      .filter(Boolean)
      .join(', ');
    const value = last?.value !== undefined ? `, last value ${last.value}` : '';
    const message = m.message ?? last?.message;
    return `metric "${m.name}" ${m.phase}${counts ? ` (${counts} of ${m.count ?? '?'})` : ''}${value}${message ? `: ${message}` : ''}`;
  });
  const head = `AnalysisRun ${run.metadata.name} ${run.status?.phase ?? 'Pending'}`;
  if (parts.length > 0) return `${head}: ${parts.join('; ')}`;
  return run.status?.message ? `${head}: ${run.status.message}` : head;
}

type Kind = 'PrePromotion' | 'PostPromotion' | 'Background' | 'Step';

function analysisState(
  rollout: Rollout,
  runs: AnalysisRun[],
  kind: Kind,
): { state: AnalysisState; run: AnalysisRun | undefined } {
  const s = rollout.status;
  const ref =
    kind === 'PrePromotion'
      ? s?.blueGreen?.prePromotionAnalysisRunStatus
      : kind === 'PostPromotion'
        ? s?.blueGreen?.postPromotionAnalysisRunStatus
        : kind === 'Background'
          ? s?.canary?.currentBackgroundAnalysisRunStatus
          : s?.canary?.currentStepAnalysisRunStatus;
  // The Rollout's own pointer names the run; fall back to the `rollout-type` label while
  // the controller has not written it yet.
  const run =
    (ref ? runs.find((r) => r.metadata.name === ref.name) : undefined) ??
    runs.find((r) => r.metadata.labels?.['rollout-type'] === kind);
  const configured =
    kind === 'PrePromotion'
      ? rollout.spec?.strategy?.blueGreen?.prePromotionAnalysis !== undefined
      : kind === 'PostPromotion'
        ? rollout.spec?.strategy?.blueGreen?.postPromotionAnalysis !== undefined
        : false;
  if (!run && !ref) return { state: { phase: configured ? 'Pending' : 'None' }, run: undefined };
  const runPhase = run?.status?.phase as AnalysisState['phase'] | undefined;
  // The pointer can run ahead of the run (the controller writes it after reading the run, but
  // our two watch streams deliver in either order): a terminal pointer wins over a stale run.
  const pointerAhead =
    ref?.status !== undefined && TERMINAL_BAD.has(ref.status) && !TERMINAL_BAD.has(runPhase ?? '');
  const phase = (
    pointerAhead ? ref.status : (runPhase ?? ref?.status ?? 'Pending')
  ) as AnalysisState['phase'];
  const message = run && !pointerAhead ? describeAnalysisRun(run) : ref?.message;
  return {
    state: {
      phase,
      run: run?.metadata.name ?? ref?.name,
      ...(message ? { message } : {}),
      ...(pointerAhead ? { fromPointerOnly: true as const } : {}),
    },
    run,
  };
}

const GATE_OF: Record<Kind, CheckName> = {
  PrePromotion: 'pre-promotion-analysis',
  PostPromotion: 'post-promotion-analysis',
  Background: 'analysis',
  Step: 'analysis',
};

export function evaluateRollout(
  rollout: Rollout,
  analysisRuns: readonly AnalysisRun[],
  options: EvaluateRolloutOptions,
): RolloutVerdict {
  const phase = rolloutPhase(rollout);
  if (!isObserved(rollout)) {
    return { phase, stage: 'waiting', reason: 'the Rollouts controller has not observed the new spec yet' };
  }
  const s = rollout.status;
  const runs = currentAnalysisRuns(rollout, analysisRuns);
  const analyses = (['PrePromotion', 'PostPromotion', 'Background', 'Step'] as const).map((kind) => ({
    kind,
    ...analysisState(rollout, runs, kind),
  }));

  for (const a of analyses) {
    if (TERMINAL_BAD.has(a.state.phase)) {
      return {
        phase,
        stage: 'failed',
        gate: GATE_OF[a.kind],
        reason: a.state.message ?? `${a.kind} analysis ${a.state.phase}`,
        ...(a.state.fromPointerOnly ? { detailPending: true as const } : {}),
      };
    }
  }
  for (const a of analyses) {
    if (a.state.phase !== 'Inconclusive') continue;
    const reason = a.state.message ?? `${a.kind} analysis Inconclusive`;
    if (options.inconclusive === 'fail') return { phase, stage: 'failed', gate: GATE_OF[a.kind], reason };
    return {
      phase,
      stage: 'needs-person',
      reason: `${reason}; a person must retry (promote) or abort the Rollout`,
    };
  }
  if (s?.abort === true) {
    const aborted = condition(rollout, 'RolloutAborted');
    return {
      phase,
      stage: 'failed',
      gate: 'rollout-aborted',
      reason: aborted?.message ?? s.message ?? 'Rollout is aborted',
    };
  }
  const deadline = condition(rollout, 'ProgressDeadlineExceeded');
  if (deadline) {
    return {
      phase,
      stage: 'failed',
      gate: 'progress-deadline',
      reason: deadline.message ?? 'ProgressDeadlineExceeded',
    };
  }
  if (phase === 'Degraded') {
    return {
      phase,
      stage: 'failed',
      gate: 'rollout-degraded',
      reason: `Rollout is Degraded: ${s?.message ?? 'no message'}`,
    };
  }
  const hash = s?.currentPodHash;
  const stable = hash === undefined || s?.stableRS === undefined || s.stableRS === hash;
  if (phase === 'Healthy' && stable) return { phase, stage: 'healthy' };

  if (options.deadlineAt !== undefined && options.now > options.deadlineAt) {
    const seconds = Math.round((options.now - options.deadlineAt) / 1000);
    return {
      phase,
      stage: 'failed',
      gate: 'progress-deadline',
      reason: `Rollout not Healthy before the deploy deadline (${seconds}s over; phase ${phase})`,
    };
  }

  const pauses = s?.pauseConditions ?? [];
  const blueGreenPause = pauses.find((p) => p.reason === 'BlueGreenPause');
  if (blueGreenPause) {
    return {
      phase,
      stage: 'awaiting-promotion',
      prePromotion: analyses[0]!.state,
      ...(s?.blueGreen?.previewSelector ? { previewSelector: s.blueGreen.previewSelector } : {}),
      ...(blueGreenPause.startTime ? { pausedSince: blueGreenPause.startTime } : {}),
    };
  }
  if (pauses.some((p) => p.reason === 'InconclusiveAnalysis')) {
    if (options.inconclusive === 'fail') {
      return {
        phase,
        stage: 'failed',
        gate: 'analysis',
        reason: 'Rollout paused on an Inconclusive analysis',
      };
    }
    return { phase, stage: 'needs-person', reason: 'Rollout paused on an Inconclusive analysis' };
  }
  if (phase === 'Paused') {
    return {
      phase,
      stage: 'paused',
      reason: pauses.map((p) => p.reason).join(', ') || s?.message || 'paused',
    };
  }
  const post = analyses[1]!.state;
  // After promotion the active Service points at the new pods while post-promotion analysis runs.
  if (hash !== undefined && s?.blueGreen?.activeSelector === hash && post.phase !== 'None') {
    return { phase, stage: 'post-promotion', postPromotion: post };
  }
  return { phase, stage: 'waiting', reason: s?.message ?? `Rollout ${phase}` };
}
