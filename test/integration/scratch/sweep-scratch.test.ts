import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { claimScratchAndSweep, type ScratchClaim } from '../../../src/scratch/sweep-scratch.js';

const dirs: string[] = [];
const claims: ScratchClaim[] = [];
afterEach(async () => {
  for (const claim of claims.splice(0)) await claim.release();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A data dir as a worker killed mid-job leaves it: a checkout, a clone, an execution. */
function crashedDataDir(): string {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'sg-scratch-'));
  dirs.push(dataDir);
  for (const [dir, entry] of [
    ['work', 'release-abc'],
    ['gitops', 'env-repo-def'],
    ['executions', 'shipgate-tests-ghi'],
  ] as const) {
    mkdirSync(path.join(dataDir, dir, entry, 'nested'), { recursive: true });
    writeFileSync(path.join(dataDir, dir, entry, 'nested', 'file'), 'left behind');
  }
  return dataDir;
}

function marker(dataDir: string, name: string, ageMs: number): string {
  mkdirSync(path.join(dataDir, 'instances'), { recursive: true });
  const file = path.join(dataDir, 'instances', name);
  writeFileSync(file, '');
  const when = new Date(Date.now() - ageMs);
  utimesSync(file, when, when);
  return file;
}

describe('claimScratchAndSweep', () => {
  it("clears a crashed worker's temp folders at the next start, and its stale marker", async () => {
    const dataDir = crashedDataDir();
    const dead = marker(dataDir, 'host-123-dead', 60_000);

    const claim = await claimScratchAndSweep(dataDir, { heartbeatMs: 1_000 });
    claims.push(claim);

    expect(claim.swept).toHaveLength(3);
    for (const dir of ['work', 'gitops', 'executions'])
      expect(readdirSync(path.join(dataDir, dir))).toEqual([]);
    expect(existsSync(dead)).toBe(false);
    // Its own marker stays while it runs, and goes on release.
    expect(readdirSync(path.join(dataDir, 'instances'))).toHaveLength(1);
    await claim.release();
    expect(readdirSync(path.join(dataDir, 'instances'))).toHaveLength(0);
  });

  it('leaves the folders alone while another live worker shares the data dir', async () => {
    const dataDir = crashedDataDir();
    marker(dataDir, 'host-456-alive', 0);

    const claim = await claimScratchAndSweep(dataDir, { heartbeatMs: 1_000 });
    claims.push(claim);

    expect(claim.swept).toEqual([]);
    expect(claim.sharedWith).toEqual(['host-456-alive']);
    expect(readdirSync(path.join(dataDir, 'work'))).toEqual(['release-abc']);
  });

  it('of two workers starting together, neither clears the other', async () => {
    const dataDir = crashedDataDir();
    const [a, b] = await Promise.all([
      claimScratchAndSweep(dataDir, { heartbeatMs: 1_000 }),
      claimScratchAndSweep(dataDir, { heartbeatMs: 1_000 }),
    ]);
    claims.push(a, b);
    // Both markers exist before either reads, so at least one of them sees the other.
    expect(a.sharedWith.length + b.sharedWith.length).toBeGreaterThan(0);
  });

  it('starts on an empty data dir', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sg-scratch-'));
    dirs.push(dataDir);
    const claim = await claimScratchAndSweep(dataDir);
    claims.push(claim);
    expect(claim.swept).toEqual([]);
  });
});
