import { isTerminal } from '../../runs/run-state-machine.js';
import type { EngineContext } from '../context/engine-context.js';

/**
 * Aborts `controller` when the run becomes terminal (superseded by a newer push, cancelled),
 * so a running gate stops instead of finishing work nobody will read. Returns a stop function.
 */
export function abortWhenRunEnds(
  ctx: EngineContext,
  runId: string,
  controller: AbortController,
  intervalMs = 2000,
): () => void {
  const timer = setInterval(() => {
    ctx.runs
      .getRun(runId)
      .then((run) => {
        if (run === undefined || isTerminal(run.state)) controller.abort(new Error(`run ${runId} ended`));
      })
      .catch(() => {
        // Redis hiccup: keep running; the next tick asks again.
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
