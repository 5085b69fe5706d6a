import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { OutputTail } from './output-tail.js';

/**
 * The one way Shipgate runs a program: never through a shell, in its own process group, with
 * an AbortSignal for cancellation and a timeout built from `AbortSignal.timeout`. The whole
 * group is killed on timeout, on cancel, on output overflow and after the main process exits,
 * so helpers it started (git-remote-https, ssh, kustomize plugins, a test's grandchildren)
 * can neither outlive it nor hold its pipes open.
 */

export interface RunProcessOptions {
  cwd: string;
  /** The complete environment: nothing is inherited from the worker. */
  env: Record<string, string | undefined>;
  /** Wall-clock limit; past it the group gets SIGTERM, then SIGKILL. */
  timeoutMs?: number | undefined;
  /** Aborting stops the group the same way; the outcome says `cancelled`. */
  signal?: AbortSignal | undefined;
  /** Bytes of combined stdout+stderr kept (the tail). */
  maxOutputBytes: number;
  /**
   * Also keep stdout whole, up to this many bytes; past it the group is killed and the outcome
   * says `overflowed`. For programs whose stdout is data (git, kustomize).
   */
  captureStdoutBytes?: number | undefined;
  /** Written to stdin, then stdin is closed. @defaultValue none (stdin is /dev/null) */
  input?: string | Buffer | undefined;
  /** Time between SIGTERM and SIGKILL to the process group. @defaultValue 5000 */
  killGraceMs?: number | undefined;
  /** Run as this uid/gid (the worker must be root to change them). */
  uid?: number | undefined;
  gid?: number | undefined;
}

export interface ProcessOutcome {
  /** The exit status; 128+n when killed by signal n; 127 when the program was not found. */
  exitCode: number;
  timedOut: boolean;
  cancelled: boolean;
  /** stdout went over `captureStdoutBytes`. */
  overflowed: boolean;
  /** Combined stdout and stderr, bounded. */
  output: OutputTail;
  /** stdout whole (only with `captureStdoutBytes`), else empty. */
  stdout: string;
  /** The last 32 KiB of stderr. */
  stderr: string;
  /** Set when the program could not be started at all (ENOENT, EACCES). */
  spawnError: NodeJS.ErrnoException | undefined;
  durationMs: number;
}

/** How long to wait for pipes to close after the group is gone (a stuck pipe must not hang us). */
const PIPE_DRAIN_MS = 2_000;
const STDERR_TAIL_BYTES = 32 * 1024;

function killGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    // A negative pid signals the whole process group the child leads (spawned `detached`).
    process.kill(-pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

export function runProcess(argv: readonly string[], options: RunProcessOptions): Promise<ProcessOutcome> {
  const started = Date.now();
  const output = new OutputTail(options.maxOutputBytes);
  const stderrTail = new OutputTail(STDERR_TAIL_BYTES);
  const killGraceMs = options.killGraceMs ?? 5_000;
  const [file, ...args] = argv;
  if (file === undefined) throw new RangeError('argv must not be empty');

  const base = {
    overflowed: false,
    output,
    stdout: '',
    stderr: '',
    spawnError: undefined,
  };
  if (options.signal?.aborted) {
    return Promise.resolve({ ...base, exitCode: 130, timedOut: false, cancelled: true, durationMs: 0 });
  }
  const timeout = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
  const stopSignal = AbortSignal.any([options.signal, timeout].filter((s) => s !== undefined));

  return new Promise((resolve) => {
    let timedOut = false;
    let cancelled = false;
    let overflowed = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    let settled = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const captured: Buffer[] = [];
    let capturedBytes = 0;

    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
    });

    const stop = (): void => {
      killGroup(child.pid, 'SIGTERM');
      graceTimer ??= setTimeout(() => killGroup(child.pid, 'SIGKILL'), killGraceMs);
      graceTimer.unref();
    };
    child.stdout!.on('data', (chunk: Buffer) => {
      output.write(chunk);
      if (options.captureStdoutBytes === undefined || overflowed) return;
      capturedBytes += chunk.length;
      if (capturedBytes > options.captureStdoutBytes) {
        overflowed = true;
        captured.length = 0;
        killGroup(child.pid, 'SIGKILL');
        return;
      }
      captured.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output.write(chunk);
      stderrTail.write(chunk);
    });
    if (child.stdin) {
      // The child may exit before reading all input; its exit code says what happened.
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }

    const onStop = (): void => {
      if (timeout?.aborted && !options.signal?.aborted) timedOut = true;
      else cancelled = true;
      stop();
    };
    stopSignal.addEventListener('abort', onStop, { once: true });

    const finish = (exitCode: number): void => {
      if (settled) return;
      settled = true;
      if (graceTimer) clearTimeout(graceTimer);
      stopSignal.removeEventListener('abort', onStop);
      resolve({
        exitCode,
        timedOut,
        cancelled,
        overflowed,
        output,
        stdout: Buffer.concat(captured).toString('utf8'),
        stderr: stderrTail.toString(),
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
        child.stdout!.destroy();
        child.stderr!.destroy();
        finish(exitCode);
      }, PIPE_DRAIN_MS);
      child.once('close', () => {
        clearTimeout(drain);
        finish(exitCode);
      });
    });
  });
}
