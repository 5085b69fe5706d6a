/**
 * canary: the Rollout's own steps (setWeight, pause, analysis) shift traffic; Shipgate gates
 * every pause with the Background and inline AnalysisRuns, ZAP against the canary Service and
 * the step deadline, then resumes it to the next step, and aborts on the first failure.
 * Traffic routing is Argo Rollouts' job; the weights are read from the Rollout's status.
 */
import {
  applicationHealthStep,
  ARGOCD_ACTION_RETRY,
  commitStep,
  startedStep,
  succeededSteps,
  syncStep,
  resumeRolloutOnce,
} from './common-steps.js';
import type { DeployKit } from './deploy-kit.js';
import { rolloutPhase } from './evaluate-rollout.js';
import type { Rollout } from './schema.js';
import type { Step, StepContext } from './step-plan.js';
import { watchRolloutUntil } from './watch-rollout-until.js';

interface CanaryStatus {
  currentStepIndex?: number;
  canary?: { weights?: { canary?: { weight?: number } } };
}

/** Indexes of the `pause` steps: the points Shipgate gates. */
export function canaryPauses(steps: readonly Record<string, unknown>[]): number[] {
  return steps.flatMap((s, i) => ('pause' in s ? [i] : []));
}

/** The canary's weight: from the status (any traffic router), else the last setWeight reached. */
export function canaryWeight(rollout: Rollout, steps: readonly Record<string, unknown>[]): number {
  const status = rollout.status as CanaryStatus | undefined;
  const fromStatus = status?.canary?.weights?.canary?.weight;
  if (typeof fromStatus === 'number') return fromStatus;
  const index = status?.currentStepIndex ?? 0;
  for (let i = Math.min(index, steps.length - 1); i >= 0; i--) {
    const w = steps[i]?.setWeight;
    if (typeof w === 'number') return w;
  }
  return 0;
}

const stepIndex = (rollout: Rollout | undefined) =>
  (rollout?.status as CanaryStatus | undefined)?.currentStepIndex ?? 0;
const pausedAtStep = (rollout: Rollout) =>
  rolloutPhase(rollout) === 'Paused' &&
  (rollout.status?.pauseConditions ?? []).some((p) => p.reason === 'CanaryPauseStep');

export function canarySteps(kit: DeployKit): Step[] {
  const { input, ports } = kit;
  const spec = input.canary!;
  const pauses = canaryPauses(spec.steps);
  const n = pauses.length;
  const reached = (ctx: StepContext, k: number) =>
    (ctx.outputs.get(`canary-${k}-pause`) as { atPause?: boolean } | undefined)?.atPause === true;

  const gated = pauses.flatMap((at, i): Step[] => {
    const k = i + 1;
    return [
      {
        name: `canary-${k}-pause`,
        check: true,
        inputs: ['started'],
        outputs: ['atPause', 'weight', 'record'],
        timeoutMs: spec.stepDeadlineSeconds * 1000,
        timeoutCheck: 'progress-deadline',
        run: (ctx) =>
          watchRolloutUntil(kit, ctx, (verdict, snapshot) => {
            const rollout = snapshot.rollout!;
            if (verdict.stage === 'healthy' || stepIndex(rollout) > at) return { output: { atPause: false } };
            if (stepIndex(rollout) !== at || !pausedAtStep(rollout)) return undefined;
            // The evaluator already failed on a Failed/Error Background or Step AnalysisRun.
            const weight = canaryWeight(rollout, spec.steps);
            const summary = `step ${k} of ${n}: canary at ${weight}%, analysis passing`;
            return { output: { atPause: true, weight, record: { gate: 'analysis', passed: true, summary } } };
          }),
      },
      {
        name: `canary-${k}-zap`,
        check: true,
        inputs: [`canary-${k}-pause`],
        outputs: ['record'],
        timeoutMs: spec.stepDeadlineSeconds * 1000,
        timeoutCheck: 'progress-deadline',
        run: async (ctx) => {
          if (!reached(ctx, k)) return {};
          if (spec.serviceUrl === undefined) return {};
          await ctx.once('status', () =>
            kit.status(
              'in_progress',
              `ZAP scanning the canary (step ${k} of ${n}) of ${input.revision.slice(0, 12)}`,
            ),
          );
          const r = await ports.zap(spec.serviceUrl, ctx.signal);
          if (!r.passed) return { failure: { gate: 'zap', reason: `step ${k} of ${n}: ${r.summary}` } };
          return {
            output: { record: { gate: 'zap', passed: true, summary: `step ${k} of ${n}: ${r.summary}` } },
          };
        },
      },
      {
        name: `canary-${k}-promote`,
        inputs: [`canary-${k}-pause`],
        outputs: ['resumed'],
        retry: ARGOCD_ACTION_RETRY,
        run: async (ctx) => {
          if (!reached(ctx, k)) return {};
          if (input.promotion === 'manual') {
            // A person resumes each step; Shipgate keeps gating the next pause.
            await ctx.once('notify-manual', () =>
              kit.notify({
                type: 'awaiting-manual-promotion',
                summary: `canary step ${k} of ${n} passed its checks`,
              }),
            );
            return { output: { resumed: false } };
          }
          // A resume that got through moved the Rollout past this pause.
          await resumeRolloutOnce(kit, ctx, (rollout) => stepIndex(rollout) > at || !pausedAtStep(rollout));
          const { weight } = ctx.outputs.get(`canary-${k}-pause`) as { weight: number };
          await ctx.once('notify', () => kit.notify({ type: 'canary-promoted', step: k, of: n, weight }));
          return { output: { resumed: true } };
        },
      },
    ];
  });

  return [
    startedStep(kit),
    commitStep(kit),
    syncStep(kit, { abort: true }),
    ...gated,
    {
      name: 'canary-complete',
      check: true,
      inputs: ['started'],
      outputs: ['record'],
      timeoutMs: spec.stepDeadlineSeconds * 1000,
      timeoutCheck: 'progress-deadline',
      run: (ctx) =>
        watchRolloutUntil(kit, ctx, (verdict) =>
          verdict.stage === 'healthy'
            ? {
                output: {
                  record: {
                    gate: 'analysis',
                    passed: true,
                    summary: `all ${n} steps passed; Rollout Healthy`,
                  },
                },
              }
            : undefined,
        ),
    },
    applicationHealthStep(kit),
    ...succeededSteps(kit),
  ];
}
