import type { GateResult } from '../../gates/index.js';
import { configSecrets, createSecretMasker, type SecretMasker } from '../../masking/secret-masker.js';
import { boundedLogTail, gateLogStepKey, type GateLog } from '../../runs/gate-log.js';
import type { CheckKey } from '../decisions/check-names.js';
import type { EngineContext } from '../context/engine-context.js';

export interface GateSummary {
  conclusion: 'success' | 'failure' | 'neutral' | 'cancelled';
  title: string;
  counts?: Record<string, number>;
  at: string;
  /** The gate's own check run on GitHub (its `html_url`), when Shipgate created or found it. */
  htmlUrl?: string;
}

/** The run's `gates` field keyed by check; what approvals and notifications summarise. */
export type GatesField = Partial<Record<CheckKey, GateSummary>>;

/**
 * Stores one gate's outcome in the run record, and the end of its output beside it. Gates
 * finish concurrently, so this is a compare-and-set loop on the run's version: no outcome
 * overwrites another.
 */
export async function recordGateResult(
  ctx: EngineContext,
  runId: string,
  key: CheckKey,
  result: Pick<GateResult, 'conclusion' | 'title' | 'counts' | 'log'> & { cancelled?: true },
  /** Names this execution, so a retried job logs the outcome once. */
  eventKey: string,
): Promise<void> {
  const htmlUrl = await checkRunUrlOf(ctx, runId, key);
  const summary: GateSummary = {
    conclusion: result.cancelled ? 'cancelled' : result.conclusion,
    title: result.title.slice(0, 200),
    ...(result.counts ? { counts: result.counts } : {}),
    at: ctx.now().toISOString(),
    ...(htmlUrl === undefined ? {} : { htmlUrl }),
  };
  // Before the verdict, so the run's page has the tail by the time the gate shows as done.
  if (result.log !== undefined) await recordGateLog(ctx, runId, key, result.log);
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const run = await ctx.runs.requireRun(runId);
    const gates = { ...((run.gates ?? {}) as GatesField), [key]: summary };
    const updated = await ctx.runs.updateRunFields(runId, { gates }, { expectedVersion: run.version });
    if (updated.ok) {
      await ctx.runs.appendEvent(
        runId,
        {
          type: 'gate',
          message: `${key}: ${summary.conclusion} — ${summary.title}`,
          data: { gate: key, ...summary },
        },
        { eventKey },
      );
      return;
    }
  }
  throw new Error(`could not record ${key} for run ${runId}: too much contention`);
}

/**
 * The `html_url` GitHub gave the gate's check run, from the result `ensureRunChecks` recorded
 * when it created (or found) it. Only web addresses: the console puts it in a link.
 */
async function checkRunUrlOf(ctx: EngineContext, runId: string, key: CheckKey): Promise<string | undefined> {
  const made = await ctx.runs.getStepResult<{ htmlUrl?: unknown }>(runId, `check:${key}`);
  const url = made?.htmlUrl;
  return typeof url === 'string' && /^https?:\/\/[^\s]{1,500}$/.test(url) ? url : undefined;
}

// One masker per configuration: building it compiles a regular expression of every secret.
const maskers = new WeakMap<object, SecretMasker>();

function maskerOf(ctx: EngineContext): SecretMasker {
  let masker = maskers.get(ctx.config);
  if (masker === undefined) {
    masker = createSecretMasker(configSecrets(ctx.config));
    maskers.set(ctx.config, masker);
  }
  return masker;
}

/**
 * Stores the gate's output tail, masked as check-run output is (every secret of the config and
 * every token shape; the executor masked it already, this is the same barrier the GitHub client
 * puts before check runs), then bounded (`GATE_LOG_LIMITS`).
 */
async function recordGateLog(
  ctx: EngineContext,
  runId: string,
  key: CheckKey,
  log: { tail: string; bytes: number },
): Promise<void> {
  const masked = maskerOf(ctx).mask(log.tail);
  const cutBefore = log.bytes > Buffer.byteLength(log.tail);
  const { tail, truncated } = boundedLogTail(masked, cutBefore);
  const stored: GateLog = { tail, truncated, bytes: log.bytes, at: ctx.now().toISOString() };
  await ctx.runs.recordStepResult(runId, gateLogStepKey(key), stored);
}
