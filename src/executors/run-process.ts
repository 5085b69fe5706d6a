import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { OutputTail } from './output-tail.js';

export interface RunProcessOptions {
  cwd: string;
  /** The complete environment: nothing is inherited from the worker. */
  env: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Bytes of combined stdout+stderr kept (the tail). */
  maxOutputBytes: number;
  /** Time between SIGTERM and SIGKILL to the process group. @defaultValue 5000 */
  killGraceMs?: number;
}

export interface ProcessOutcome {
  /** The exit status; 128+n when killed by signal n; 127 when the program was not found. */
  exitCode: number;
  timedOut: boolean;
  cancelled: boolean;
  output: OutputTail;
  /** Set when the program could not be started at all (ENOENT, EACCES). */
  spawnError: NodeJS.ErrnoException | undefined;
  durationMs: number;
}

/** How long to wait for pipes to close after the group is gone (a stuck pipe must not hang us). */
const PIPE_DRAIN_MS = 2_000;

function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    // A negative pid signals the whole process group the child leads (spawned `detached`).
    process.kill(-pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/**
 * Runs `argv` in its own process group and kills the whole group — grandchildren included —
 * on timeout, on cancel, and after the main process exits (so nothing it started outlives the
 * gate). Output is kept in a bounded tail.
 */
export function runProcess(argv: readonly string[], options: RunProcessOptions): Promise<ProcessOutcome> {
  const started = Date.now();
  const output = new OutputTail(options.maxOutputBytes);
  const killGraceMs = options.killGraceMs ?? 5_000;
  const [file, ...args] = argv;
  if (file === undefined) throw new RangeError('argv must not be empty');

  if (options.signal?.aborted) {
    return Promise.resolve({
      exitCode: 130,
      timedOut: false,
      cancelled: true,
      output,
      spawnError: undefined,
      durationMs: 0,
    });
  }

  return new Promise((resolve) => {
    let timedOut = false;
    let cancelled = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    let settled = false;
    let graceTimer: NodeJS.Timeout | undefined;

    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => output.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.write(chunk));

    const stop = (): void => {
      killGroup(child.pid, 'SIGTERM');
      graceTimer ??= setTimeout(() => killGroup(child.pid, 'SIGKILL'), killGraceMs);
      graceTimer.unref();
    };
    const timeoutTimer = setTimeout(() => {
      timedOut = true;
      stop();
    }, options.timeoutMs);
    const onAbort = (): void => {
      cancelled = true;
      stop();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (exitCode: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timeoutTimer);
      if (graceTimer) clearTimeout(graceTimer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({
        exitCode,
        timedOut,
        cancelled,
        output,
        spawnError,
        durationMs: Date.now() - started,
      });
    };

    child.on('error', (err: NodeJS.ErrnoException) => {
      // 'error' without a pid means the program never started.
      if (child.pid !== undefined) return;
      spawnError = err;
      output.write(`shipgate: cannot start ${file}: ${err.code ?? err.message}\n`);
      finish(err.code === 'ENOENT' ? 127 : 126);
    });
    child.on('exit', (code, sig) => {
      // Whatever the command left running in its group goes too; it may also hold our pipes open.
      killGroup(child.pid, 'SIGKILL');
      const exitCode = code ?? 128 + (sig ? (constants.signals[sig] ?? 0) : 0);
      const drain = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish(exitCode);
      }, PIPE_DRAIN_MS);
      child.once('close', () => {
        clearTimeout(drain);
        finish(exitCode);
      });
    });
  });
}
