import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExecutorFailed, isShipgateError } from '../errors.js';
import { cloneAtSha } from '../git/clone-with-token.js';
import {
  DEFAULT_LOG_TAIL_BYTES,
  DEFAULT_MAX_REPORT_BYTES,
  validateExecutionSpec,
  type ExecutionResult,
  type ExecutionSpec,
  type Executor,
  type RunOptions,
} from './executor.js';
import { readReportFile } from './read-report-file.js';
import { runProcess } from './run-process.js';

export interface LocalExecutorOptions {
  /** Parent of the per-execution temp directories. @defaultValue `os.tmpdir()` */
  workRoot?: string | undefined;
  /** PATH the commands (and git) see. @defaultValue the worker's PATH */
  path?: string | undefined;
  /** @defaultValue `C.UTF-8` */
  lang?: string | undefined;
  /** @defaultValue 65536 */
  logTailBytes?: number | undefined;
  /** @defaultValue 52428800 (50 MiB) */
  maxReportBytes?: number | undefined;
  /** SIGTERM → SIGKILL grace for the process group. @defaultValue 5000 */
  killGraceMs?: number | undefined;
  /** Per git command during checkout. @defaultValue 120000 */
  cloneTimeoutMs?: number | undefined;
}

/**
 * Runs a gate as a local process: a fresh temp directory, the source cloned at the exact sha,
 * a scrubbed environment, its own process group (killed whole on timeout or cancel), a bounded
 * output tail, and the temp directory removed afterwards whatever happens. `spec.image`,
 * `spec.resources` and `spec.container` do not apply locally and are ignored.
 */
export class LocalExecutor implements Executor {
  readonly kind = 'local' as const;
  private readonly options: Required<Omit<LocalExecutorOptions, 'workRoot' | 'path'>> & {
    workRoot: string;
    path: string;
  };

  constructor(options: LocalExecutorOptions = {}) {
    this.options = {
      workRoot: options.workRoot ?? tmpdir(),
      path: options.path ?? process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      lang: options.lang ?? 'C.UTF-8',
      logTailBytes: options.logTailBytes ?? DEFAULT_LOG_TAIL_BYTES,
      maxReportBytes: options.maxReportBytes ?? DEFAULT_MAX_REPORT_BYTES,
      killGraceMs: options.killGraceMs ?? 5_000,
      cloneTimeoutMs: options.cloneTimeoutMs ?? 120_000,
    };
  }

  async run(spec: ExecutionSpec, runOptions: RunOptions = {}): Promise<ExecutionResult> {
    validateExecutionSpec(spec);
    const started = Date.now();
    const { signal } = runOptions;
    let dir: string;
    try {
      await mkdir(this.options.workRoot, { recursive: true });
      dir = await mkdtemp(path.join(this.options.workRoot, `shipgate-${spec.gate}-`));
    } catch (err) {
      throw ExecutorFailed('local', `cannot create a work directory: ${(err as Error).message}`, {
        cause: err,
      });
    }
    try {
      const home = path.join(dir, 'home');
      const tmp = path.join(dir, 'tmp');
      const cwd = path.join(dir, spec.checkout ? 'src' : 'work');
      await Promise.all([mkdir(home), mkdir(tmp), mkdir(cwd)]);

      if (spec.checkout) {
        try {
          await cloneAtSha({
            cloneUrl: spec.checkout.cloneUrl,
            sha: spec.checkout.sha,
            token: spec.checkout.token,
            dir: cwd,
            signal,
            path: this.options.path,
            timeoutMs: this.options.cloneTimeoutMs,
          });
        } catch (err) {
          if (signal?.aborted) return cancelledResult(started);
          throw err;
        }
      }

      const outcome = await runProcess(spec.command, {
        cwd,
        env: {
          PATH: this.options.path,
          HOME: home,
          TMPDIR: tmp,
          LANG: this.options.lang,
          ...spec.env,
        },
        timeoutMs: spec.timeoutSeconds * 1000,
        signal,
        maxOutputBytes: this.options.logTailBytes,
        killGraceMs: this.options.killGraceMs,
      });

      const reports: Record<string, string | undefined> = {};
      const reportProblems: Record<string, string> = {};
      for (const [name, relative] of Object.entries(spec.reportFiles)) {
        const read = await readReportFile(cwd, relative, this.options.maxReportBytes);
        reports[name] = read.text;
        if ('problem' in read && read.problem) reportProblems[name] = read.problem;
      }
      return {
        exitCode: outcome.exitCode,
        timedOut: outcome.timedOut,
        cancelled: outcome.cancelled,
        logTail: outcome.output.toString(),
        logBytes: outcome.output.totalBytes,
        reports,
        reportProblems,
        durationMs: Date.now() - started,
      };
    } catch (err) {
      if (isShipgateError(err)) throw err;
      throw ExecutorFailed('local', (err as Error).message, { cause: err });
    } finally {
      await removeDir(dir);
    }
  }
}

function cancelledResult(started: number): ExecutionResult {
  return {
    exitCode: 130,
    timedOut: false,
    cancelled: true,
    logTail: '',
    logBytes: 0,
    reports: {},
    reportProblems: {},
    durationMs: Date.now() - started,
  };
}

async function removeDir(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch {
    // The command made directories read-only (the Go module cache does): restore and retry.
    await makeWritable(dir);
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

async function makeWritable(dir: string): Promise<void> {
  await runProcess(['chmod', '-R', 'u+rwX', dir], {
    cwd: '/',
    env: { PATH: '/usr/bin:/bin' },
    timeoutMs: 30_000,
    maxOutputBytes: 1024,
  }).catch(() => undefined);
}
