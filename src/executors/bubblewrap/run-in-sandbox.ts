import { access, constants, lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { runProcess, type ProcessOutcome, type RunProcessOptions } from '../../process/run-process.js';
import {
  sandboxArguments,
  SYSTEM_TOP_LEVEL,
  type HostRoot,
  type SandboxLayout,
} from './sandbox-arguments.js';

/**
 * Runs one command inside a bubblewrap sandbox (see `sandbox-arguments.ts` for what it holds).
 *
 * - `bwrap` itself starts with the command's environment and nothing else: inside the PID
 *   namespace `/proc/1/environ` is bwrap's, so no worker variable may reach it.
 * - When the worker is root, bwrap runs as an unprivileged host uid (65534 by default), so the
 *   sandbox owns nothing of the host's: not even a root-owned file it could otherwise read
 *   through a mounted folder. The work folder is handed to that uid beforehand.
 * - `prlimit --nproc` caps the processes, so a fork bomb stops at the cap and dies with the
 *   timeout (killing bwrap kills its PID namespace whole).
 */

export interface SandboxHost {
  /** Absolute path of `bwrap`. */
  bwrap: string;
  /** Absolute path of `prlimit` (util-linux). */
  prlimit: string;
  root: HostRoot;
  /** The host uid/gid bwrap runs as; undefined: the worker's own (when not root). */
  uid: number | undefined;
  gid: number | undefined;
}

export interface SandboxLimits {
  /** Processes the sandbox's host uid may have at once. @defaultValue 512 */
  maxProcesses?: number | undefined;
}

export type SandboxProbe = { ok: true; host: SandboxHost } | { ok: false; reason: string };

/** The unprivileged host uid a root worker gives the sandbox. */
export const SANDBOX_HOST_UID = 65534;

async function findOnPath(name: string, pathEnv: string): Promise<string | undefined> {
  for (const dir of pathEnv.split(path.delimiter).filter((d) => path.isAbsolute(d))) {
    const candidate = path.join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

async function readHostRoot(): Promise<HostRoot> {
  const links: Record<string, string> = {};
  const dirs: string[] = [];
  for (const top of SYSTEM_TOP_LEVEL) {
    const info = await lstat(top).catch(() => undefined);
    if (info?.isSymbolicLink()) links[top] = await readlink(top);
    else if (info?.isDirectory()) dirs.push(top);
  }
  return { links, dirs };
}

const probes = new Map<string, Promise<SandboxProbe>>();

/**
 * Finds bwrap and proves it works here by running `true` in the same sandbox a gate gets.
 * The answer is cached per PATH: a kernel without user namespaces does not grow them later.
 */
export function probeSandbox(
  pathEnv = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
): Promise<SandboxProbe> {
  let probe = probes.get(pathEnv);
  if (!probe) {
    probe = runProbe(pathEnv);
    probes.set(pathEnv, probe);
  }
  return probe;
}

async function runProbe(pathEnv: string): Promise<SandboxProbe> {
  if (process.platform !== 'linux') {
    return { ok: false, reason: `bubblewrap needs Linux user namespaces, and this is ${process.platform}` };
  }
  const bwrap = await findOnPath('bwrap', pathEnv);
  if (!bwrap)
    return { ok: false, reason: 'bwrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)' };
  const prlimit = await findOnPath('prlimit', pathEnv);
  if (!prlimit) return { ok: false, reason: 'prlimit (util-linux) is not installed' };
  const isRoot = process.getuid?.() === 0;
  const host: SandboxHost = {
    bwrap,
    prlimit,
    root: await readHostRoot(),
    uid: isRoot ? SANDBOX_HOST_UID : undefined,
    gid: isRoot ? SANDBOX_HOST_UID : undefined,
  };
  const outcome = await runInSandbox(host, { mounts: [], network: 'none', cwd: '/' }, ['true'], {
    cwd: '/',
    env: { PATH: '/usr/bin:/bin' },
    timeoutMs: 10_000,
    maxOutputBytes: 4096,
  });
  if (outcome.exitCode === 0) return { ok: true, host };
  const why = outcome.output.toString().trim().split('\n')[0] ?? '';
  return {
    ok: false,
    reason: `bwrap cannot create its namespaces here (${why || `exit code ${outcome.exitCode}`}); user namespaces may be disabled`,
  };
}

export function runInSandbox(
  host: SandboxHost,
  layout: SandboxLayout,
  command: readonly string[],
  options: Omit<RunProcessOptions, 'uid' | 'gid'>,
  limits: SandboxLimits = {},
): Promise<ProcessOutcome> {
  const nproc = String(limits.maxProcesses ?? 512);
  const argv = [
    host.prlimit,
    `--nproc=${nproc}:${nproc}`,
    '--',
    host.bwrap,
    ...sandboxArguments(layout, host.root),
    '--',
    ...command,
  ];
  return runProcess(argv, { ...options, uid: host.uid, gid: host.gid });
}
