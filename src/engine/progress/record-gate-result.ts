import type { GateResult } from '../../gates/index.js';
import type { CheckKey } from '../decisions/check-names.js';
import type { EngineContext } from '../context/engine-context.js';

export interface GateSummary {
  conclusion: 'success' | 'failure' | 'neutral' | 'cancelled';
  title: string;
  counts?: Record<string, number>;
  at: string;
}

/** The run's `gates` field keyed by check; what approvals and notifications summarise. */
export type GatesField = Partial<Record<CheckKey, GateSummary>>;

/**
 * Stores one gate's outcome in the run record. Gates finish concurrently, so this is a
 * compare-and-set loop on the run's version: no outcome overwrites another.
 */
export async function recordGateResult(
  ctx: EngineContext,
  runId: string,
  key: CheckKey,
  result: Pick<GateResult, 'conclusion' | 'title' | 'counts'> & { cancelled?: true },
  /** Names this execution, so a retried job logs the outcome once. */
  eventKey: string,
): Promise<void> {
  const summary: GateSummary = {
    conclusion: result.cancelled ? 'cancelled' : result.conclusion,
    title: result.title.slice(0, 200),
    ...(result.counts ? { counts: result.counts } : {}),
    at: ctx.now().toISOString(),
  };
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
