/**
 * blueGreen: preview, pre-promotion analysis, ZAP against the preview, the deadline, promote,
 * post-promotion analysis, the Application's health. As a list of steps.
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
import type { Step } from './step-plan.js';
import { watchRolloutUntil } from './watch-rollout-until.js';

interface PauseOutput {
  /** False when the Rollout went Healthy without a blue-green pause (a person promoted it). */
  paused: boolean;
  /**
   * Whether the Rollout has a post-promotion analysis to watch after the promotion. Unset in
   * ledgers written before it was recorded: read as true.
   */
  postPromotionAnalysis?: boolean;
}

const pauseOutput = (ctx: { outputs: ReadonlyMap<string, unknown> }) =>
  ctx.outputs.get('pre-promotion-analysis') as PauseOutput | undefined;
const paused = (ctx: { outputs: ReadonlyMap<string, unknown> }) => pauseOutput(ctx)?.paused === true;

export function blueGreenSteps(kit: DeployKit): Step[] {
  const { input, ports } = kit;
  const short = input.revision.slice(0, 12);
  return [
    startedStep(kit),
    commitStep(kit),
    syncStep(kit, { abort: true }),
    {
      name: 'pre-promotion-analysis',
      check: true,
      inputs: ['started'],
      outputs: ['paused', 'postPromotionAnalysis', 'record'],
      run: (ctx) =>
        watchRolloutUntil(kit, ctx, (verdict, snapshot) => {
          if (verdict.stage === 'healthy') return { output: { paused: false } };
          if (verdict.stage !== 'awaiting-promotion') return undefined;
          const pre = verdict.prePromotion;
          // Failures arrive as a `failed` verdict; anything else is still running.
          if (pre.phase !== 'None' && pre.phase !== 'Successful') return undefined;
          const summary = pre.phase === 'None' ? 'none configured' : `${pre.run ?? 'AnalysisRun'} Successful`;
          const post = snapshot.rollout?.spec?.strategy?.blueGreen?.postPromotionAnalysis;
          return {
            output: {
              paused: true,
              postPromotionAnalysis: post !== undefined && post !== null,
              record: { gate: 'pre-promotion-analysis', passed: true, summary },
            },
          };
        }),
    },
    {
      name: 'zap',
      check: true,
      inputs: ['pre-promotion-analysis'],
      outputs: ['record'],
      run: async (ctx) => {
        if (!paused(ctx)) return {};
        if (input.previewUrl === undefined) {
          return {
            output: { record: { gate: 'zap', passed: true, summary: 'skipped: no preview URL configured' } },
          };
        }
        await ctx.once('status', () => kit.status('in_progress', `ZAP scanning the preview of ${short}`));
        const r = await ports.zap(input.previewUrl, ctx.signal);
        if (!r.passed) return { failure: { gate: 'zap', reason: r.summary } };
        return { output: { record: { gate: 'zap', passed: true, summary: r.summary } } };
      },
    },
    {
      name: 'progress-deadline',
      check: true,
      inputs: ['started', 'pre-promotion-analysis'],
      outputs: ['record'],
      run: async (ctx) => {
        if (!paused(ctx)) return {};
        const { deadlineAt } = kit.deadline(ctx);
        const now = ports.clock.now();
        if (now > deadlineAt) {
          return {
            failure: {
              gate: 'progress-deadline',
              reason: 'blue-green checks did not pass before the deploy deadline',
            },
          };
        }
        const left = Math.round((deadlineAt - now) / 1000);
        return {
          output: {
            record: {
              gate: 'progress-deadline',
              passed: true,
              summary: `checks passed with ${left}s to spare`,
            },
          },
        };
      },
    },
    {
      name: 'promote',
      inputs: ['pre-promotion-analysis'],
      outputs: ['resumed'],
      retry: ARGOCD_ACTION_RETRY,
      run: async (ctx) => {
        if (!paused(ctx)) return {};
        const summary = (sep: string, full: boolean) =>
          kit
            .records(ctx)
            .map((g) => (full ? `${g.gate}: ${g.summary}` : g.summary))
            .join(sep);
        if (input.promotion === 'manual') {
          await ctx.once('status-manual', () =>
            kit.status('in_progress', 'checks passed; waiting for a person to promote'),
          );
          await ctx.once('notify-manual', () =>
            kit.notify({ type: 'awaiting-manual-promotion', summary: summary('; ', false) }),
          );
          return { output: { resumed: false } };
        }
        await ctx.once('notify-passed', () =>
          kit.notify({ type: 'gates-passed', summary: summary('; ', true) }),
        );
        // A resume that got through leaves no BlueGreenPause behind.
        await resumeRolloutOnce(kit, ctx, (rollout) => rolloutPhase(rollout) !== 'Paused');
        // With no post-promotion analysis the Rollout is Healthy right after the promotion, and
        // `success` would supersede this status at once: GitHub paces writes, so it is left out.
        if (pauseOutput(ctx)?.postPromotionAnalysis !== false) {
          await ctx.once('status-promoted', () =>
            kit.status('in_progress', 'promoted; watching post-promotion analysis'),
          );
        }
        await ctx.once('notify-promoted', () => kit.notify({ type: 'promoted' }));
        return { output: { resumed: true } };
      },
    },
    {
      name: 'post-promotion-analysis',
      check: true,
      inputs: ['started'],
      outputs: ['record'],
      run: (ctx) =>
        watchRolloutUntil(kit, ctx, (verdict, snapshot) => {
          if (verdict.stage !== 'healthy') return undefined;
          const post = snapshot.rollout?.spec?.strategy?.blueGreen?.postPromotionAnalysis;
          const summary = post ? 'Successful; Rollout Healthy' : 'none configured; Rollout Healthy';
          return { output: { record: { gate: 'post-promotion-analysis', passed: true, summary } } };
        }),
    },
    applicationHealthStep(kit),
    ...succeededSteps(kit),
  ];
}
