/**
 * One environment's deploy, from "the manifests are committed" to Healthy or rolled back:
 *
 *   refresh + sync to our commit → wait for the sync → watch the Rollout; during the
 *   blue-green pause run the gates in order (pre-promotion AnalysisRun, ZAP against the
 *   preview, the progress deadline) → resume → watch post-promotion analysis → Healthy.
 *
 * Any failed gate: abort the Rollout, revert the commit in the env repo (so git never claims
 * a broken version is live), sync to the revert, mark the GitHub deployment `failure`, notify.
 *
 * Every side effect goes through `steps` (step-once per run): a job retried after a crash
 * resumes watching and never sends a second resume, abort or revert. Decisions come from the
 * pure evaluators; this file only sequences I/O.
 */
import { operationTargets } from '../argocd/argocd-client.js';
import {
  ArgoCdUnavailable,
  DeployCancelled,
  DeploySyncTimeout,
  isRetryable,
  ShipgateError,
} from '../errors.js';
import { evaluateRollout, rolloutPhase, type RolloutVerdict } from './evaluate-rollout.js';
import { evaluateSync } from './evaluate-sync.js';
import { parseDeployInput } from './deploy-input.js';
import type { GateFailure, GateName } from './gates.js';
import type { DeployEvent, DeployEventBody, DeployPorts, DeploymentState } from './ports.js';
import type { Rollout } from './schema.js';
import { withStepSpan } from '../telemetry/with-span.js';
import type { RolloutSnapshot, RolloutWatch } from './watch-rollout.js';

export interface GateRecord {
  gate: GateName;
  passed: boolean;
  summary: string;
}

export type DeployResult =
  | { outcome: 'succeeded'; revision: string; gates: GateRecord[] }
  | {
      outcome: 'rolled-back';
      gate: GateName;
      reason: string;
      revertCommit: string;
      /** False when Argo CD did not confirm the sync to the revert in time (git is still reverted). */
      revertSynced: boolean;
      /** False when the Rollout was not mid-update (nothing to abort) or was already aborted. */
      aborted: boolean;
      gates: GateRecord[];
    };

export interface RunDeployOptions {
  signal?: AbortSignal;
  /** How often to re-check Argo CD while waiting for a sync, and the longest quiet wait on the watch. @defaultValue 2000 */
  pollIntervalMs?: number;
}

/** A gate said no: carries what the rollback reports. */
class GateFailed extends Error {
  constructor(readonly failure: GateFailure) {
    super(`${failure.gate}: ${failure.reason}`);
  }
}

const GITHUB_DESCRIPTION_MAX = 140;

export async function runDeploy(
  rawInput: unknown,
  ports: DeployPorts,
  options: RunDeployOptions = {},
): Promise<DeployResult> {
  const input = parseDeployInput(rawInput);
  const { steps, clock, argocd, logger } = ports;
  const signal = options.signal;
  const pollMs = options.pollIntervalMs ?? 2_000;
  // Scoped to the environment and revision: one run may deploy several environments, and a
  // rollback run deploys a different commit.
  const key = (k: string) => `deploy:${input.environment}:${input.revision.slice(0, 12)}:${k}`;
  const scope = {
    ...(input.argocd.appNamespace ? { appNamespace: input.argocd.appNamespace } : {}),
    ...(input.argocd.project ? { project: input.argocd.project } : {}),
  };
  const log = logger?.child({ runId: input.runId, app: input.app, environment: input.environment });

  const finished = (await steps.result(key('outcome'))) as DeployResult | undefined;
  if (finished) return finished;

  /**
   * Runs `act` once per run. If an earlier attempt claimed the step but died before recording
   * it, `alreadyDone` looks at the world to decide whether the action got through.
   */
  async function once<T>(
    name: string,
    act: () => Promise<T>,
    alreadyDone?: () => Promise<boolean>,
  ): Promise<{ ran: boolean; value: T | undefined }> {
    const k = key(name);
    if (!(await steps.claim(k))) {
      const previous = await steps.result(k);
      if (previous !== undefined) return { ran: false, value: previous as T };
      if (alreadyDone && (await alreadyDone())) {
        await steps.save(k, true);
        return { ran: false, value: undefined };
      }
    }
    const value = await withStepSpan(name, { 'shipgate.env': input.environment }, act);
    await steps.save(k, value ?? true);
    return { ran: true, value };
  }

  async function status(state: DeploymentState, description: string, onceKey?: string): Promise<void> {
    const text =
      description.length > GITHUB_DESCRIPTION_MAX
        ? `${description.slice(0, GITHUB_DESCRIPTION_MAX - 1)}…`
        : description;
    const send = () => ports.deploymentStatus(state, text);
    if (onceKey) await once(`status:${onceKey}`, send);
    else await send();
  }

  async function notify(event: DeployEventBody, onceKey?: string) {
    const full = {
      runId: input.runId,
      app: input.app,
      environment: input.environment,
      revision: input.revision,
      ...event,
    } as DeployEvent;
    const send = async () => {
      try {
        await ports.notify(full);
      } catch (err) {
        // A Slack outage must not change the outcome of a deploy.
        log?.warn({ err: String(err), event: full.type }, 'notify failed');
      }
    };
    if (onceKey) await once(`notify:${onceKey}`, send);
    else await send();
  }

  async function recordGate(record: GateRecord): Promise<void> {
    await steps.save(key(`gate:${record.gate}`), record);
  }

  async function gates(): Promise<GateRecord[]> {
    const order: GateName[] = [
      'sync',
      'pre-promotion-analysis',
      'zap',
      'progress-deadline',
      'post-promotion-analysis',
      'application-health',
    ];
    const out: GateRecord[] = [];
    for (const g of order) {
      const r = (await steps.result(key(`gate:${g}`))) as GateRecord | undefined;
      if (r) out.push(r);
    }
    return out;
  }

  function checkCancelled(): void {
    if (signal?.aborted) throw DeployCancelled({ cause: signal.reason });
  }

  async function pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * Asks Argo CD to sync `revision` (unless it already did or is doing so) and waits for the
   * verdict. Argo CD outages inside the window are waited out; past it they surface as a
   * retryable error rather than a gate failure, so an outage never reverts a good commit.
   */
  async function syncAndWait(
    revision: string,
    stepName: string,
    timeoutMs: number,
  ): Promise<'synced' | { failed: string }> {
    const deadline = clock.now() + timeoutMs;
    let lastError: unknown;
    let lastReason = 'not checked yet';
    let requested = false;
    for (;;) {
      checkCancelled();
      try {
        const app = await argocd.getApplication(input.argocd.application, {
          ...scope,
          ...(requested ? {} : { refresh: 'normal' as const }),
          signal,
        });
        lastError = undefined;
        const verdict = evaluateSync(app, revision);
        if (verdict.state === 'synced') return 'synced';
        if (verdict.state === 'failed' && requested) return { failed: `${verdict.phase}: ${verdict.reason}` };
        lastReason = verdict.reason;
        if (!requested) {
          // Once per run and revision: a retried job finds the step recorded and only waits.
          await once(
            stepName,
            async () => {
              const result = await argocd.sync(
                input.argocd.application,
                {
                  revision,
                  prune: input.argocd.prune,
                  runId: input.runId,
                  sourceCommit: input.sourceCommit,
                  ...scope,
                },
                signal,
              );
              return { status: result.status };
            },
            async () => {
              const again = await argocd.getApplication(input.argocd.application, { ...scope, signal });
              return evaluateSync(again, revision).state !== 'waiting' || operationTargets(again, revision);
            },
          );
          requested = true;
          continue;
        }
      } catch (err) {
        if (!isRetryable(err) || DeployCancelled.is(err)) throw err;
        lastError = err;
        log?.warn({ err: String(err) }, 'Argo CD call failed while waiting for the sync; retrying');
      }
      if (clock.now() > deadline) {
        if (lastError instanceof ShipgateError) throw lastError;
        if (lastError) {
          throw ArgoCdUnavailable(`sync ${input.argocd.application}`, String(lastError), {
            cause: lastError,
          });
        }
        if (!requested) throw DeploySyncTimeout(input.argocd.application, revision);
        return { failed: `not synced within ${Math.round(timeoutMs / 1000)}s: ${lastReason}` };
      }
      await pause(pollMs);
    }
  }

  function mustAbort(rollout: Rollout | undefined): boolean {
    const s = rollout?.status;
    if (!s || s.abort === true) return false;
    // Only a Rollout in the middle of an update has a new stack to throw away; aborting a
    // Healthy Rollout would mark it Degraded until its next update.
    return s.currentPodHash !== undefined && s.stableRS !== undefined && s.currentPodHash !== s.stableRS;
  }

  async function rollBack(failure: GateFailure, watch: RolloutWatch | undefined): Promise<DeployResult> {
    log?.warn({ gate: failure.gate, reason: failure.reason }, 'gate failed; rolling back');

    const rolloutNow = async (): Promise<Rollout | undefined> => {
      if (watch) return watch.snapshot().rollout;
      const w = await ports.rolloutSource.open(input.rollout, signal);
      try {
        return w.snapshot().rollout;
      } finally {
        w.close();
      }
    };

    // 1. Abort first: it moves traffic back to the stable stack at once, before any git work.
    let abort: { value: unknown } = { value: { sent: false } };
    try {
      abort = await once(
        'abort',
        async () => {
          if (!mustAbort(await rolloutNow())) return { sent: false };
          await argocd.rolloutAction(input.argocd.application, input.rollout, 'abort', scope, signal);
          return { sent: true };
        },
        async () => !mustAbort(await rolloutNow()),
      );
    } catch (err) {
      if (DeployCancelled.is(err) || !isRetryable(err)) throw err;
      // The revert below and the sync to it take the Rollout back to the stable spec even
      // without the abort; git comes first.
      log?.error({ err: String(err) }, 'abort failed; reverting anyway');
    }
    // People hear about it after traffic is safe, not before.
    await notify({ type: 'gate-failed', gate: failure.gate, reason: failure.reason }, 'gate-failed');
    const aborted = (abort.value as { sent?: boolean } | undefined)?.sent === true;

    // 2. The revert commit, for exactly this app and environment.
    const revert = await once('revert', () =>
      ports.revert({
        runId: input.runId,
        app: input.app,
        environment: input.environment,
        badCommit: input.revision,
        gate: failure.gate,
        reason: failure.reason,
      }),
    );
    const revertCommit = (revert.value as { commitSha: string }).commitSha;

    // 3. Sync to it. Git is already right; a sync that does not finish is reported, not retried forever.
    let revertSynced = false;
    try {
      const synced = await syncAndWait(revertCommit, `sync:${revertCommit}`, input.syncTimeoutSeconds * 1000);
      revertSynced = synced === 'synced';
      if (synced !== 'synced') log?.error({ reason: synced.failed }, 'sync to the revert commit failed');
    } catch (err) {
      if (DeployCancelled.is(err)) throw err;
      log?.error({ err: String(err) }, 'sync to the revert commit did not finish');
    }

    // 4–6. GitHub, the run, and people.
    await status('failure', `${failure.gate} failed: ${failure.reason}`, 'failure');
    await notify(
      {
        type: 'rolled-back',
        gate: failure.gate,
        reason: failure.reason,
        revertCommit,
        revertSynced,
        aborted,
      },
      'rolled-back',
    );
    const result: DeployResult = {
      outcome: 'rolled-back',
      gate: failure.gate,
      reason: failure.reason,
      revertCommit,
      revertSynced,
      aborted,
      gates: await gates(),
    };
    await steps.save(key('outcome'), result);
    return result;
  }

  /** The first decision wins for good: a retry after a failed gate only finishes the rollback. */
  async function decideFailure(failure: GateFailure): Promise<GateFailure> {
    if (await steps.claim(key('verdict'))) {
      await steps.save(key('verdict'), failure);
      await recordGate({ gate: failure.gate, passed: false, summary: failure.reason });
      return failure;
    }
    return ((await steps.result(key('verdict'))) as GateFailure | undefined) ?? failure;
  }

  const previousVerdict = (await steps.result(key('verdict'))) as GateFailure | undefined;
  if (previousVerdict) return rollBack(previousVerdict, undefined);

  const started = await once('started', async () => ({ at: clock.now() }));
  const startedAt = (started.value as { at: number }).at;
  const deadlineAt = startedAt + input.progressDeadlineSeconds * 1000;

  let watch: RolloutWatch | undefined;
  try {
    await status(
      'in_progress',
      `syncing ${input.revision.slice(0, 12)} to ${input.argocd.application}`,
      'in_progress',
    );
    const synced = await syncAndWait(
      input.revision,
      `sync:${input.revision}`,
      input.syncTimeoutSeconds * 1000,
    );
    if (synced !== 'synced') throw new GateFailed({ gate: 'sync', reason: synced.failed });
    if ((await steps.result(key('gate:sync'))) === undefined) {
      await recordGate({ gate: 'sync', passed: true, summary: `synced ${input.revision.slice(0, 12)}` });
      await notify({ type: 'synced' }, 'synced');
    }

    watch = await ports.rolloutSource.open(input.rollout, signal);
    let snapshot: RolloutSnapshot = watch.snapshot();
    for (;;) {
      checkCancelled();
      const now = clock.now();
      const verdict: RolloutVerdict | undefined = snapshot.rollout
        ? evaluateRollout(snapshot.rollout, snapshot.analysisRuns, {
            now,
            deadlineAt,
            inconclusive: input.inconclusive,
          })
        : undefined;
      if (!verdict) {
        if (now > deadlineAt) {
          throw new GateFailed({
            gate: 'progress-deadline',
            reason: `Rollout ${input.rollout.namespace}/${input.rollout.name} not found before the deadline`,
          });
        }
      } else if (verdict.stage === 'failed') {
        throw new GateFailed({ gate: verdict.gate, reason: verdict.reason });
      } else if (verdict.stage === 'healthy') {
        await finalApplicationCheck();
        break;
      } else if (verdict.stage === 'awaiting-promotion') {
        await promotionGates(verdict, snapshot.rollout!);
      } else if (verdict.stage === 'needs-person') {
        await notify({ type: 'needs-person', reason: verdict.reason }, 'needs-person');
      }
      snapshot = await watch.next(snapshot.version, pollMs, signal);
    }
  } catch (err) {
    if (!(err instanceof GateFailed)) throw err;
    const failure = await decideFailure(err.failure);
    // `return await`: the watch must stay open (finally) until the rollback has read it.
    return await rollBack(failure, watch);
  } finally {
    watch?.close();
  }

  await status(
    'success',
    `${input.app} ${input.revision.slice(0, 12)} is live in ${input.environment}`,
    'success',
  );
  const summary = (await gates()).map((g) => `${g.gate}: ${g.summary}`).join('; ');
  await notify({ type: 'succeeded', summary }, 'succeeded');
  const result: DeployResult = { outcome: 'succeeded', revision: input.revision, gates: await gates() };
  await steps.save(key('outcome'), result);
  return result;

  async function promotionGates(
    verdict: Extract<RolloutVerdict, { stage: 'awaiting-promotion' }>,
    rollout: Rollout,
  ) {
    // Gate 1: pre-promotion analysis (failures arrive as a `failed` verdict).
    const pre = verdict.prePromotion;
    if (pre.phase !== 'None' && pre.phase !== 'Successful') return;
    if ((await steps.result(key('gate:pre-promotion-analysis'))) === undefined) {
      await recordGate({
        gate: 'pre-promotion-analysis',
        passed: true,
        summary: pre.phase === 'None' ? 'none configured' : `${pre.run ?? 'AnalysisRun'} Successful`,
      });
    }
    // Gate 2: ZAP against the preview. No side effect, so a result is cached rather than claimed.
    let zap = (await steps.result(key('gate:zap'))) as GateRecord | undefined;
    if (!zap) {
      if (input.previewUrl === undefined) {
        zap = { gate: 'zap', passed: true, summary: 'skipped: no preview URL configured' };
      } else {
        await status('in_progress', `ZAP scanning the preview of ${input.revision.slice(0, 12)}`, 'zap');
        const r = await ports.zap(input.previewUrl, signal);
        checkCancelled();
        zap = { gate: 'zap', passed: r.passed, summary: r.summary };
      }
      if (!zap.passed) throw new GateFailed({ gate: 'zap', reason: zap.summary });
      await recordGate(zap);
    }
    // Gate 3: the deadline (the evaluator fails past it); recorded as passed once gates are done.
    if (clock.now() > deadlineAt) {
      throw new GateFailed({
        gate: 'progress-deadline',
        reason: 'blue-green gates did not pass before the deploy deadline',
      });
    }
    if ((await steps.result(key('gate:progress-deadline'))) === undefined) {
      const left = Math.round((deadlineAt - clock.now()) / 1000);
      await recordGate({
        gate: 'progress-deadline',
        passed: true,
        summary: `gates passed with ${left}s to spare`,
      });
    }
    if (input.promotion === 'manual') {
      await status('in_progress', 'gates passed; waiting for a person to promote', 'awaiting-manual');
      await notify(
        { type: 'awaiting-manual-promotion', summary: (await gates()).map((g) => g.summary).join('; ') },
        'awaiting-manual',
      );
      return;
    }
    await notify(
      { type: 'gates-passed', summary: (await gates()).map((g) => `${g.gate}: ${g.summary}`).join('; ') },
      'gates-passed',
    );
    let resumed: { ran: boolean };
    try {
      resumed = await once(
        'resume',
        async () => {
          await argocd.rolloutAction(input.argocd.application, input.rollout, 'resume', scope, signal);
          return { sent: true };
        },
        // A resume that got through leaves no BlueGreenPause behind.
        async () => rolloutPhase(watch!.snapshot().rollout ?? rollout) !== 'Paused',
      );
    } catch (err) {
      if (!isRetryable(err) || DeployCancelled.is(err)) throw err;
      // Argo CD is briefly unreachable: the claim has no result, so the next pass of the
      // watch loop checks the Rollout and sends the resume if it did not get through.
      log?.warn({ err: String(err) }, 'resume failed; trying again');
      return;
    }
    if (resumed.ran) {
      await status('in_progress', 'promoted; watching post-promotion analysis', 'promoted');
      await notify({ type: 'promoted' }, 'promoted');
    }
  }

  async function finalApplicationCheck() {
    if ((await steps.result(key('gate:post-promotion-analysis'))) === undefined) {
      const post = watch?.snapshot().rollout?.spec?.strategy?.blueGreen?.postPromotionAnalysis;
      await recordGate({
        gate: 'post-promotion-analysis',
        passed: true,
        summary: post ? 'Successful; Rollout Healthy' : 'none configured; Rollout Healthy',
      });
    }
    // The Rollout is one resource; the Application's health covers the rest of the manifests.
    try {
      const app = await argocd.getApplication(input.argocd.application, { ...scope, signal });
      const health = app.status?.health?.status;
      if (health === 'Degraded') {
        throw new GateFailed({
          gate: 'application-health',
          reason: `Application is Degraded: ${app.status?.health?.message ?? 'no message'}`,
        });
      }
      await recordGate({
        gate: 'application-health',
        passed: true,
        summary: `Application ${health ?? 'Unknown'}`,
      });
    } catch (err) {
      if (err instanceof GateFailed || !isRetryable(err)) throw err;
      // The Rollout is Healthy; an Argo CD hiccup at this moment must not revert it.
      await recordGate({
        gate: 'application-health',
        passed: true,
        summary: 'not checked: Argo CD unreachable',
      });
    }
  }
}
