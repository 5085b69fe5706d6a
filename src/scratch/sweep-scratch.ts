import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';

/** The scratch folders under the data dir: checkouts, env-repo clones, gate executions. */
export const SCRATCH_DIRS = ['work', 'gitops', 'executions'] as const;

export interface ScratchClaimOptions {
  /**
   * How often this process says it is alive; a marker older than three beats is a dead process.
   * @defaultValue 10_000
   */
  heartbeatMs?: number;
}

export interface ScratchClaim {
  /** What the sweep removed (paths), empty when another live process shares the data dir. */
  swept: string[];
  /** Set when the sweep was skipped because these other processes are alive. */
  sharedWith: string[];
  /** Stops the heartbeat and removes this process's marker. */
  release(): Promise<void>;
}

/**
 * At a worker's start, removes what crashed workers left in the scratch folders: a job killed
 * mid-checkout never reaches its `finally`. A folder is only safe to clear when no live process
 * is using it, and mkdtemp names say nothing about their owner, so each process keeps a
 * heartbeat marker under `<dataDir>/instances/`. The marker is written before the others are
 * read, so of two workers starting together at least one sees the other and neither sweeps.
 * With the usual layouts (a pod's own volume, or `shipgate start` alone) there is no other
 * live marker and the sweep always runs.
 */
export async function claimScratchAndSweep(
  dataDir: string,
  options: ScratchClaimOptions = {},
): Promise<ScratchClaim> {
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const instances = path.join(dataDir, 'instances');
  await mkdir(instances, { recursive: true });
  const mine = path.join(instances, `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`);
  await writeFile(mine, `${new Date().toISOString()}\n`);
  const beat = setInterval(() => {
    const now = new Date();
    utimes(mine, now, now).catch(() => {});
  }, heartbeatMs);
  beat.unref();
  const release = async () => {
    clearInterval(beat);
    await rm(mine, { force: true });
  };

  const sharedWith: string[] = [];
  const stale: string[] = [];
  for (const name of await readdir(instances)) {
    const marker = path.join(instances, name);
    if (marker === mine) continue;
    const info = await stat(marker).catch(() => undefined);
    if (!info) continue;
    if (Date.now() - info.mtimeMs < 3 * heartbeatMs) sharedWith.push(name);
    else stale.push(marker);
  }
  if (sharedWith.length > 0) return { swept: [], sharedWith, release };

  const swept: string[] = [];
  for (const dir of SCRATCH_DIRS) {
    const root = path.join(dataDir, dir);
    const entries = await readdir(root).catch(() => [] as string[]);
    for (const entry of entries) {
      const leftover = path.join(root, entry);
      await rm(leftover, { recursive: true, force: true });
      swept.push(leftover);
    }
  }
  for (const marker of stale) await rm(marker, { force: true });
  return { swept, sharedWith, release };
}
