import { chmod, lstat, mkdir, mkdtemp, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExecutorFailed, isShipgateError, SandboxUnavailable } from '../errors.js';
import { cloneAtSha } from '../git/clone-with-token.js';
import { tokenMasker, type SecretMasker } from '../masking/secret-masker.js';
import { runProcess, type ProcessOutcome } from '../process/run-process.js';
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
import { probeSandbox, runInSandbox } from './bubblewrap/run-in-sandbox.js';
import type { SandboxMount, SandboxNetwork } from './bubblewrap/sandbox-arguments.js';

export type LocalIsolation = 'sandbox' | 'unsandboxed';

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
  /**
   * `sandbox` (the default) runs every command in bubblewrap and refuses to run without it;
   * `unsandboxed` runs it as the worker's own user (SHIPGATE_EXECUTOR=local-unsandboxed).
   */
  isolation?: LocalIsolation | undefined;
  /** The platform's network policy for gates (sandbox only). @defaultValue `none` */
  network?: SandboxNetwork | undefined;
  /** Processes a sandboxed gate may have at once. @defaultValue 512 */
  maxProcesses?: number | undefined;
  /** Host paths a gate must never see even if a mounted folder holds them (key file, data dir). */
  hiddenPaths?: readonly string[] | undefined;
  /**
   * Host folders shown to every sandboxed gate, e.g. a scanner's cache. A writable one is
   * shared by all gates, so only for caches that hold nothing secret.
   */
  mounts?: readonly SandboxMount[] | undefined;
  /** Masks secrets in everything the result carries. @defaultValue token shapes only */
  masker?: SecretMasker | undefined;
}

/** Inside the sandbox the execution folder is here, as in a Kubernetes gate Job. */
export const SANDBOX_WORKSPACE = '/workspace';

export const UNSANDBOXED_WARNING =
  'WARNING: this gate ran WITHOUT a sandbox (SHIPGATE_EXECUTOR=local-unsandboxed): it could read every secret of the Shipgate worker, including the GitHub App key. Use the sandboxed local executor or the Kubernetes executor.';

/**
 * Runs a gate as a local process: a fresh temp directory, the source cloned at the exact sha,
 * an environment built from nothing, its own process group (killed whole on timeout or
 * cancel), a bounded output tail with secrets masked, and the temp directory removed
 * afterwards whatever happens. By default the command runs in a bubblewrap sandbox
 * (`sandbox/sandbox-arguments.ts` says what it sees). `spec.image`, `spec.resources` and
 * `spec.container` do not apply locally and are ignored.
 */
export class LocalExecutor implements Executor {
  readonly kind = 'local' as const;
  private readonly options: Required<
    Omit<LocalExecutorOptions, 'workRoot' | 'path' | 'hiddenPaths' | 'masker' | 'mounts'>
  > & {
    workRoot: string;
    path: string;
    hiddenPaths: readonly string[];
    masker: SecretMasker;
    mounts: readonly SandboxMount[];
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
      isolation: options.isolation ?? 'sandbox',
      network: options.network ?? 'none',
      maxProcesses: options.maxProcesses ?? 512,
      hiddenPaths: options.hiddenPaths ?? [],
      masker: options.masker ?? tokenMasker,
      mounts: options.mounts ?? [],
    };
  }

  /** One line for the start-up log: how gates are isolated here, or why they cannot run. */
  async describeIsolation(): Promise<{ ok: boolean; line: string }> {
    if (this.options.isolation === 'unsandboxed') return { ok: false, line: UNSANDBOXED_WARNING };
    const probe = await probeSandbox();
    return probe.ok
      ? { ok: true, line: `gates run in a bubblewrap sandbox (network: ${this.options.network})` }
      : { ok: false, line: SandboxUnavailable(probe.reason).message };
  }

  async run(spec: ExecutionSpec, runOptions: RunOptions = {}): Promise<ExecutionResult> {
    validateExecutionSpec(spec);
    const started = Date.now();
    const { signal } = runOptions;
    const sandboxed = this.options.isolation === 'sandbox';
    const probe = sandboxed ? await probeSandbox() : undefined;
    if (probe && !probe.ok) throw SandboxUnavailable(probe.reason);

    let dir: string;
    try {
      await mkdir(this.options.workRoot, { recursive: true });
      if (probe?.ok && probe.host.uid !== undefined) await letSandboxReach(this.options.workRoot);
      dir = await mkdtemp(path.join(this.options.workRoot, `shipgate-${spec.gate}-`));
    } catch (err) {
      throw ExecutorFailed('local', `cannot create a work directory: ${(err as Error).message}`, {
        cause: err,
      });
    }
    try {
      const home = path.join(dir, 'home');
      const tmp = path.join(dir, 'tmp');
      const workName = spec.checkout ? 'src' : 'work';
      const cwd = path.join(dir, workName);
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

      const common = {
        timeoutMs: spec.timeoutSeconds * 1000,
        signal,
        maxOutputBytes: this.options.logTailBytes,
        killGraceMs: this.options.killGraceMs,
      };
      let outcome: ProcessOutcome;
      if (probe?.ok) {
        // The sandbox's host uid must own what it may write; nothing else of the host is its.
        if (probe.host.uid !== undefined) await chownTree(dir, probe.host.uid, probe.host.gid!);
        outcome = await runInSandbox(
          probe.host,
          {
            mounts: [{ source: dir, target: SANDBOX_WORKSPACE, writable: true }, ...this.options.mounts],
            tmpDir: tmp,
            readOnlyDirs: await toolDirs(this.options.path, probe.host.uid !== undefined),
            hide: await hiddenEntries(this.options.hiddenPaths),
            network: this.options.network,
            cwd: path.posix.join(SANDBOX_WORKSPACE, workName),
          },
          spec.command,
          {
            ...common,
            cwd: '/',
            // bwrap starts with exactly the gate's environment: it is what /proc/1/environ shows.
            env: {
              PATH: this.options.path,
              HOME: path.posix.join(SANDBOX_WORKSPACE, 'home'),
              TMPDIR: '/tmp',
              LANG: this.options.lang,
              ...spec.env,
            },
          },
          { maxProcesses: this.options.maxProcesses },
        );
        notFoundInSandbox(outcome, spec.command[0]!);
      } else {
        outcome = await runProcess(spec.command, {
          ...common,
          cwd,
          env: { PATH: this.options.path, HOME: home, TMPDIR: tmp, LANG: this.options.lang, ...spec.env },
        });
      }

      const mask = (text: string) => this.options.masker.mask(text);
      const reports: Record<string, string | undefined> = {};
      const reportProblems: Record<string, string> = {};
      for (const [name, relative] of Object.entries(spec.reportFiles)) {
        const read = await readReportFile(cwd, relative, this.options.maxReportBytes);
        reports[name] = read.text === undefined ? undefined : mask(read.text);
        if ('problem' in read && read.problem) reportProblems[name] = mask(read.problem);
      }
      const logTail = mask(outcome.output.toString());
      return {
        exitCode: outcome.exitCode,
        timedOut: outcome.timedOut,
        cancelled: outcome.cancelled,
        logTail: sandboxed ? logTail : `${UNSANDBOXED_WARNING}\n${logTail}`,
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

/** bwrap reports a missing program as its own failure; say it the way the unsandboxed run does. */
function notFoundInSandbox(outcome: ProcessOutcome, program: string): void {
  if (outcome.exitCode !== 1) return;
  if (!/^bwrap: execvp .*: (No such file or directory|Permission denied)$/m.test(outcome.output.toString()))
    return;
  const missing = /No such file/.test(outcome.output.toString());
  outcome.exitCode = missing ? 127 : 126;
  outcome.output.write(`shipgate: cannot start ${program}: ${missing ? 'ENOENT' : 'EACCES'}\n`);
}

/**
 * The PATH's absolute folders (real paths), shown read-only so locally installed tools run.
 * Folders the sandbox's uid could not reach anyway (under a private home) are left out.
 */
async function toolDirs(pathEnv: string, needWorldAccess: boolean): Promise<string[]> {
  const dirs: string[] = [];
  for (const dir of pathEnv.split(path.delimiter).filter((d) => path.isAbsolute(d))) {
    const real = await realpath(dir).catch(() => undefined);
    if (real && (!needWorldAccess || (await worldReachable(real)))) dirs.push(real);
  }
  return dirs;
}

async function worldReachable(dir: string): Promise<boolean> {
  for (let d = dir; ; d = path.dirname(d)) {
    const info = await stat(d).catch(() => undefined);
    if (!info || (info.mode & 0o001) === 0) return false;
    if (d === path.dirname(d)) return true;
  }
}

/**
 * bwrap runs as the sandbox's unprivileged host uid, which must be able to pass through the
 * folders above the execution folder to mount it (it never sees their contents: only the
 * mounted folder appears inside). The work root and its parent are Shipgate's own (the data
 * dir): give them search permission, no more. Anything higher must already allow it.
 */
async function letSandboxReach(workRoot: string): Promise<void> {
  const root = path.resolve(workRoot);
  for (const dir of [root, path.dirname(root)]) {
    const info = await stat(dir);
    if ((info.mode & 0o001) === 0 && info.uid === process.getuid?.())
      await chmod(dir, (info.mode & 0o7777) | 0o001);
  }
  for (let dir = root; ; dir = path.dirname(dir)) {
    const info = await stat(dir);
    if ((info.mode & 0o001) === 0) {
      throw ExecutorFailed(
        'local',
        `the sandbox's unprivileged uid cannot pass through ${dir} to reach the work folder; allow search (chmod o+x) or move SHIPGATE_DATA_DIR`,
      );
    }
    if (dir === path.dirname(dir)) return;
  }
}

async function hiddenEntries(paths: readonly string[]): Promise<{ path: string; isDirectory: boolean }[]> {
  const entries: { path: string; isDirectory: boolean }[] = [];
  for (const p of paths) {
    const absolute = path.resolve(p);
    const info = await lstat(absolute).catch(() => undefined);
    if (!info) continue;
    entries.push({ path: absolute, isDirectory: info.isDirectory() });
    // The real path too: a symlinked key file is hidden at both names.
    const real = await realpath(absolute).catch(() => absolute);
    if (real !== absolute) entries.push({ path: real, isDirectory: info.isDirectory() });
  }
  return entries;
}

async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  const outcome = await runProcess(['chown', '-R', `${uid}:${gid}`, dir], {
    cwd: '/',
    env: { PATH: '/usr/bin:/bin' },
    timeoutMs: 60_000,
    maxOutputBytes: 1024,
  });
  if (outcome.exitCode !== 0) {
    throw ExecutorFailed(
      'local',
      `cannot hand the work directory to the sandbox: ${outcome.output.toString().trim()}`,
    );
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
