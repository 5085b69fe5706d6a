import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/**
 * Starts `command` as the leader of its own process group, so everything it starts (tsx's node
 * child, an embedded redis-server) can be stopped together with `killGroup`, even when a test
 * fails halfway. Killing only the wrapper would leave its children running.
 */
export function spawnGroup(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  return spawn(command, args, { ...options, detached: true });
}

/** SIGKILLs the whole group of a child started with `spawnGroup`; a no-op when it is already gone. */
export function killGroup(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child?.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Whether any process of the group is still alive (signal 0 probes without killing). */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
