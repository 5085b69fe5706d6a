import type { Worker } from 'bullmq';
import type { Logger } from './logger.js';
import { untilAborted } from './retry/until-aborted.js';

export interface ShutdownStep {
  name: string;
  /** `signal` aborts when the step's time is up: a step that can stop early listens to it. */
  run: (signal: AbortSignal) => Promise<void>;
  /** @defaultValue 10000 */
  timeoutMs?: number;
}

/**
 * Resolves true when `task` finished in time, false when `signal` (by default the timeout) won.
 * The task is not cancelled here: the caller hands the same signal to the work where it can.
 */
export async function withTimeout(
  task: Promise<unknown>,
  timeoutMs: number,
  signal: AbortSignal = AbortSignal.timeout(timeoutMs),
): Promise<boolean> {
  try {
    await untilAborted(task, signal);
    return true;
  } catch (err) {
    if (signal.aborted && err === signal.reason) return false;
    throw err;
  }
}

/**
 * Closes a BullMQ worker: stop taking jobs and wait for the active ones, but not forever.
 * `worker.close()` has no timeout of its own (bullmq#2237, #4656); past ours we force-close,
 * the unfinished jobs' locks expire, and BullMQ hands them to another worker as stalled.
 * Every job is idempotent, so that re-run is safe.
 */
export async function closeWorker(worker: Worker, timeoutMs: number, logger: Logger): Promise<void> {
  if (await withTimeout(worker.close(), timeoutMs)) return;
  logger.warn({ queue: worker.name, timeoutMs }, 'worker did not finish its jobs in time; force-closing');
  await withTimeout(worker.close(true), 2000);
}

export interface Shutdown {
  /** Runs the steps in order, each bounded by its timeout. Idempotent. */
  run(reason: string): Promise<boolean>;
  /** Adds a step (steps run in the order they were added). */
  add(step: ShutdownStep): void;
  /** SIGTERM/SIGINT run the steps and exit; a second signal exits at once. Returns an uninstaller. */
  installSignalHandlers(signals?: NodeJS.Signals[]): () => void;
}

/**
 * Graceful shutdown: stop accepting (HTTP close answers new requests with 503 and waits for
 * in-flight ones), close workers with our own timeout, then queues and connections, and last
 * the embedded Redis. A step that fails or times out is logged and the next one still runs.
 */
export function createShutdown(
  logger: Logger,
  exit: (code: number) => void = (code) => process.exit(code),
): Shutdown {
  const steps: ShutdownStep[] = [];
  let running: Promise<boolean> | undefined;

  async function runSteps(reason: string): Promise<boolean> {
    logger.info({ reason }, 'shutting down');
    let clean = true;
    for (const step of steps) {
      const timeoutMs = step.timeoutMs ?? 10_000;
      const started = Date.now();
      try {
        const deadline = AbortSignal.timeout(timeoutMs);
        if (!(await withTimeout(step.run(deadline), timeoutMs, deadline))) {
          clean = false;
          logger.warn({ step: step.name, timeoutMs }, 'shutdown step timed out');
          continue;
        }
      } catch (err) {
        clean = false;
        logger.warn({ step: step.name, err }, 'shutdown step failed');
        continue;
      }
      logger.debug({ step: step.name, ms: Date.now() - started }, 'shutdown step done');
    }
    logger.info({ clean }, 'shutdown complete');
    return clean;
  }

  const shutdown: Shutdown = {
    run(reason) {
      running ??= runSteps(reason);
      return running;
    },
    add(step) {
      steps.push(step);
    },
    installSignalHandlers(signals = ['SIGTERM', 'SIGINT']) {
      const handler = (signal: NodeJS.Signals) => {
        if (running !== undefined) {
          logger.warn({ signal }, 'second signal: exiting now');
          exit(1);
          return;
        }
        void shutdown.run(signal).then((clean) => exit(clean ? 0 : 1));
      };
      for (const s of signals) process.on(s, handler);
      return () => {
        for (const s of signals) process.off(s, handler);
      };
    },
  };
  return shutdown;
}
