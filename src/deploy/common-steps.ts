/**
 * The steps every strategy shares: the start, the commit (with its compensation, the revert
 * commit and the sync to it), the sync (with its compensation, the abort), the Application's
 * health, and the end. Every strategy rolls back the same way through these compensations:
 * abort where it applies, revert commit, sync to it, deployment marked failed, notification.
 */
import { isRetryable } from '../errors.js';
import type { RetryPolicy } from '../retry/retry.js';
import type { CheckRecord } from './checks.js';
import type { DeployKit } from './deploy-kit.js';
import type { Rollout } from './schema.js';
import type { Step, StepContext, StepFailure } from './step-plan.js';
import { waitForSync } from './wait-for-sync.js';

/** Side effects against Argo CD: tries spanning a restart, each bounded, before the job retries. */
export const ARGOCD_ACTION_RETRY: RetryPolicy = {
  // Equal jitter: six attempts always span at least 5.75 s (at most 11.5 s), so a deploy rides
  // out an Argo CD restart instead of failing on an unlucky run of short back-offs.
  attempts: 6,
  minDelayMs: 500,
  maxDelayMs: 4_000,
  jitter: 'equal',
  attemptTimeoutMs: 30_000,
  retryable: isRetryable,
};
/** GitHub statuses and the run log: bounded so a hung call cannot hold the lock. */
const REPORT_TIMEOUT_MS = 60_000;

const short = (sha: string) => sha.slice(0, 12);

/**
 * Resumes the paused Rollout, once per step: on a retry, `movedOn` says from the Rollout as
 * it is now whether a resume sent before got through, so it is not sent twice.
 */
export async function resumeRolloutOnce(
  kit: DeployKit,
  ctx: StepContext,
  movedOn: (rollout: Rollout) => boolean,
): Promise<void> {
  await ctx.once(
    'resume',
    async () => {
      await kit.ports.argocd.rolloutAction(
        kit.input.argocd.application,
        kit.input.rollout,
        'resume',
        kit.scope,
        ctx.signal,
      );
      return { sent: true };
    },
    async () => {
      const rollout = (await kit.watch(ctx.signal)).snapshot().rollout;
      return rollout !== undefined && movedOn(rollout);
    },
  );
}

export function startedStep(kit: DeployKit): Step {
  return {
    name: 'started',
    outputs: ['at'],
    run: async () => ({ output: { at: kit.ports.clock.now() } }),
  };
}

/**
 * The env-repo commit under deploy. The commit itself is written before the plan runs (after
 * the preflight); this step owns its compensation: the revert commit and the sync to it.
 */
export function commitStep(kit: DeployKit): Step {
  const { input, ports } = kit;
  return {
    name: 'commit',
    outputs: ['sha'],
    run: async () => ({ output: { sha: input.revision } }),
    compensation: [
      {
        name: 'revert',
        outputs: ['commitSha'],
        run: async (ctx) => {
          const failure = ctx.failure!;
          const revert = await ports.revert({
            runId: input.runId,
            app: input.app,
            environment: input.environment,
            badCommit: input.revision,
            gate: failure.gate as CheckRecord['gate'],
            reason: failure.reason,
          });
          return { output: revert };
        },
      },
      {
        name: 'sync-revert',
        outputs: ['synced'],
        run: async (ctx) => {
          const { commitSha } = ctx.outputs.get('revert') as { commitSha: string };
          // Git is already right; a sync that does not finish is reported, not retried forever.
          try {
            const synced = await waitForSync(kit, ctx, commitSha, input.syncTimeoutSeconds * 1000);
            if (synced !== 'synced')
              kit.log?.error({ reason: synced.failed }, 'sync to the revert commit failed');
            return { output: { synced: synced === 'synced' } };
          } catch (err) {
            if (ctx.signal.aborted) throw err;
            kit.log?.error({ err: String(err) }, 'sync to the revert commit did not finish');
            return { output: { synced: false } };
          }
        },
      },
    ],
  };
}

function mustAbort(rollout: Rollout | undefined): boolean {
  const s = rollout?.status;
  if (!s || s.abort === true) return false;
  // Only a Rollout in the middle of an update has a new stack to throw away; aborting a
  // Healthy Rollout would mark it Degraded until its next update.
  return s.currentPodHash !== undefined && s.stableRS !== undefined && s.currentPodHash !== s.stableRS;
}

/** Steps of a strategy without a Rollout (rolling) pass `abort: false`. */
export function syncStep(kit: DeployKit, options: { abort: boolean }): Step {
  const { input, ports } = kit;
  const rolloutNow = async (signal: AbortSignal): Promise<Rollout | undefined> => {
    const open = kit.openWatch();
    if (open) return open.snapshot().rollout;
    const w = await ports.rolloutSource.open(input.rollout, signal);
    try {
      return w.snapshot().rollout;
    } finally {
      w.close();
    }
  };
  const abort: Step = {
    name: 'abort',
    outputs: ['sent'],
    retry: ARGOCD_ACTION_RETRY,
    // The revert and the sync to it take the Rollout back to stable even without the abort.
    bestEffort: true,
    reconcile: async (ctx) => {
      const rollout = await rolloutNow(ctx.signal);
      if (mustAbort(rollout)) return { done: false };
      // The attempt that died had decided to abort a Rollout that was mid-update and not aborted:
      // an abort seen now is its own, and the run's event must not credit Argo Rollouts with it
      // ("already aborted"). Without that decision on record, it never sent one.
      const decided = (await ctx.once('decided', () => Promise.resolve(false))) === true;
      return { done: true, output: { sent: decided && rollout?.status?.abort === true } };
    },
    run: async (ctx) => {
      if (!options.abort || !mustAbort(await rolloutNow(ctx.signal))) return { output: { sent: false } };
      // Recorded before the request: a worker killed after it got through says so on resume.
      await ctx.once('decided', () => Promise.resolve(true));
      // Abort first: it moves traffic back to the stable stack at once, before any git work.
      await ports.argocd.rolloutAction(
        input.argocd.application,
        input.rollout,
        'abort',
        kit.scope,
        ctx.signal,
      );
      return { output: { sent: true } };
    },
  };
  return {
    name: 'sync',
    key: `sync:${short(input.revision)}`,
    check: true,
    inputs: ['commit'],
    outputs: ['record'],
    run: async (ctx) => {
      await ctx.once('status', () =>
        kit.status('in_progress', `syncing ${short(input.revision)} to ${input.argocd.application}`),
      );
      const synced = await waitForSync(kit, ctx, input.revision, input.syncTimeoutSeconds * 1000);
      if (synced !== 'synced') return { failure: { gate: 'sync', reason: synced.failed } };
      await ctx.once('notify', () => kit.notify({ type: 'synced' }));
      return {
        output: { record: { gate: 'sync', passed: true, summary: `synced ${short(input.revision)}` } },
      };
    },
    compensation: [
      ...(options.abort ? [abort] : []),
      {
        name: 'notify-check-failed',
        run: async (ctx) => {
          const f = ctx.failure!;
          kit.log?.warn({ gate: f.gate, reason: f.reason }, 'check failed; rolling back');
          // People hear about it after traffic is safe, not before.
          await kit.notify({ type: 'gate-failed', gate: f.gate as CheckRecord['gate'], reason: f.reason });
          return {};
        },
      },
    ],
  };
}

/** The Rollout or Deployment is one resource; the Application's health covers the rest. */
export function applicationHealthStep(kit: DeployKit): Step {
  const { input, ports } = kit;
  return {
    name: 'application-health',
    check: true,
    timeoutMs: REPORT_TIMEOUT_MS,
    outputs: ['record'],
    run: async (ctx) => {
      // Its own budget, shorter than the step's deadline: a hung Argo CD is "not checked", never
      // the timed-out check that would roll back a workload already seen Healthy.
      const read = AbortSignal.any([ctx.signal, AbortSignal.timeout(kit.applicationReadMs)]);
      try {
        const app = await ports.argocd.getApplication(input.argocd.application, {
          ...kit.scope,
          signal: read,
        });
        const health = app.status?.health?.status;
        if (health === 'Degraded') {
          return {
            failure: {
              gate: 'application-health',
              reason: `Application is Degraded: ${app.status?.health?.message ?? 'no message'}`,
            },
          };
        }
        return {
          output: {
            record: {
              gate: 'application-health',
              passed: true,
              summary: `Application ${health ?? 'Unknown'}`,
            },
          },
        };
      } catch (err) {
        if (ctx.signal.aborted || (!read.aborted && !isRetryable(err))) throw err;
        // The workload is Healthy; an Argo CD hiccup at this moment must not revert it.
        return {
          output: {
            record: { gate: 'application-health', passed: true, summary: 'not checked: Argo CD unreachable' },
          },
        };
      }
    },
  };
}

export function succeededSteps(kit: DeployKit): Step[] {
  const { input } = kit;
  return [
    {
      name: 'status-success',
      timeoutMs: REPORT_TIMEOUT_MS,
      run: async () => {
        await kit.status('success', `${input.app} ${short(input.revision)} is live in ${input.environment}`);
        return {};
      },
    },
    {
      name: 'notify-succeeded',
      timeoutMs: REPORT_TIMEOUT_MS,
      run: async (ctx) => {
        const summary = kit
          .records(ctx)
          .map((g) => `${g.gate}: ${g.summary}`)
          .join('; ');
        await kit.notify({ type: 'succeeded', summary });
        return {};
      },
    },
  ];
}

/** The last steps of every rollback: the deployment marked failed, and people told. */
export function failedSteps(kit: DeployKit): Step[] {
  return [
    {
      name: 'status-failure',
      timeoutMs: REPORT_TIMEOUT_MS,
      run: async (ctx) => {
        const f = ctx.failure!;
        await kit.status('failure', `${f.gate} failed: ${f.reason}`);
        return {};
      },
    },
    {
      name: 'notify-rolled-back',
      timeoutMs: REPORT_TIMEOUT_MS,
      run: async (ctx) => {
        const f: StepFailure = ctx.failure!;
        await kit.notify({
          type: 'rolled-back',
          gate: f.gate as CheckRecord['gate'],
          reason: f.reason,
          ...rollbackFacts(ctx),
        });
        return {};
      },
    },
  ];
}

export function rollbackFacts(ctx: Pick<StepContext, 'outputs'>): {
  revertCommit: string;
  revertSynced: boolean;
  aborted: boolean;
} {
  return {
    revertCommit: (ctx.outputs.get('revert') as { commitSha: string }).commitSha,
    revertSynced: (ctx.outputs.get('sync-revert') as { synced?: boolean } | undefined)?.synced === true,
    aborted: (ctx.outputs.get('abort') as { sent?: boolean } | undefined)?.sent === true,
  };
}
