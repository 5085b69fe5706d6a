/**
 * Watches the Rollout until `decide` returns something, re-evaluating on every change (level
 * triggered, as the Rollouts controller is: a restart or a dropped watch changes nothing).
 * A failed verdict, or no Rollout before the deadline, ends the wait as a check failure.
 */
import type { DeployKit } from './deploy-kit.js';
import { evaluateRollout, type RolloutVerdict } from './evaluate-rollout.js';
import type { StepContext, StepOutcome } from './step-plan.js';
import type { RolloutSnapshot } from './watch-rollout.js';

/** How long a failed verdict waits for the AnalysisRun that explains it before it stands alone. */
const FAILURE_DETAIL_GRACE_MS = 1_000;

export async function watchRolloutUntil(
  kit: DeployKit,
  ctx: StepContext,
  decide: (verdict: RolloutVerdict, snapshot: RolloutSnapshot) => StepOutcome | undefined,
): Promise<StepOutcome> {
  const { input, ports } = kit;
  const { deadlineAt } = kit.deadline(ctx);
  const watch = await kit.watch(ctx.signal);
  let snapshot = watch.snapshot();
  let failedSeenAt: number | undefined;
  for (;;) {
    ctx.signal.throwIfAborted();
    const now = ports.clock.now();
    if (!snapshot.rollout) {
      if (now > deadlineAt) {
        return {
          failure: {
            gate: 'progress-deadline',
            reason: `Rollout ${input.rollout.namespace}/${input.rollout.name} not found before the deadline`,
          },
        };
      }
    } else {
      const verdict = evaluateRollout(snapshot.rollout, snapshot.analysisRuns, {
        now,
        deadlineAt,
        inconclusive: input.inconclusive,
      });
      if (verdict.stage === 'failed') {
        failedSeenAt ??= now;
        // Wait a moment for the run itself, so the reason names the metric and its value.
        const waitForDetail = verdict.detailPending === true && now - failedSeenAt < FAILURE_DETAIL_GRACE_MS;
        if (!waitForDetail) return { failure: { gate: verdict.gate, reason: verdict.reason } };
        snapshot = await watch.next(
          snapshot.version,
          Math.min(kit.pollMs, FAILURE_DETAIL_GRACE_MS),
          ctx.signal,
        );
        continue;
      }
      if (verdict.stage === 'needs-person') {
        const reason = verdict.reason;
        await ctx.once('needs-person', () => kit.notify({ type: 'needs-person', reason }));
      }
      const decided = decide(verdict, snapshot);
      if (decided) return decided;
    }
    snapshot = await watch.next(snapshot.version, kit.pollMs, ctx.signal);
  }
}
