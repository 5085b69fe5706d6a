import { describe, expect, it } from 'vitest';
import { computeDora, median, parseWindow } from '../../../src/dora/compute-dora.js';
import type { DeployRecord } from '../../../src/dora/types.js';

const day = (d: number, h = 0) => new Date(Date.UTC(2026, 0, d, h)).toISOString();

/**
 * A scripted month of web/production:
 *   Jan 2  v1 live (first commit Dec 31 00:00 → lead 48 h)
 *   Jan 5  v2 live (first commit Jan 3 12:00 → lead 36 h)
 *   Jan 6  v3 fails its gates and is rolled back automatically (failure 1)
 *   Jan 7  v4 live: restores after v3 → restore 24 h; lead 12 h (first commit Jan 6 12:00)
 *   Jan 10 v5 live (lead 6 h), then Jan 10 04:00 a manual rollback replaces it (failure 2,
 *          restore 4 h from v5 going live)
 * Plus noise the measures must ignore: another environment, another app.
 */
const HISTORY: DeployRecord[] = [
  {
    runId: 'r1',
    runKind: 'release',
    app: 'web',
    env: 'production',
    outcome: 'succeeded',
    at: day(2),
    tag: 'v1',
    firstCommitAt: day(0),
  },
  {
    runId: 'r2',
    runKind: 'release',
    app: 'web',
    env: 'production',
    outcome: 'succeeded',
    at: day(5),
    tag: 'v2',
    firstCommitAt: day(3, 12),
  },
  {
    runId: 'r3',
    runKind: 'release',
    app: 'web',
    env: 'production',
    outcome: 'rolled-back',
    at: day(6),
    tag: 'v3',
  },
  {
    runId: 'r4',
    runKind: 'release',
    app: 'web',
    env: 'production',
    outcome: 'succeeded',
    at: day(7),
    tag: 'v4',
    firstCommitAt: day(6, 12),
  },
  {
    runId: 'r5',
    runKind: 'release',
    app: 'web',
    env: 'production',
    outcome: 'succeeded',
    at: day(10),
    tag: 'v5',
    firstCommitAt: day(9, 18),
  },
  { runId: 'b1', runKind: 'rollback', app: 'web', env: 'production', outcome: 'succeeded', at: day(10, 4) },
  { runId: 'r5', runKind: 'release', app: 'web', env: 'staging', outcome: 'rolled-back', at: day(9) },
  { runId: 'x1', runKind: 'release', app: 'api', env: 'production', outcome: 'succeeded', at: day(3) },
];

describe('DORA measures from a scripted history', () => {
  it('gives the exact figures for the month', () => {
    const f = computeDora(HISTORY, 'web', 'production', new Date(day(1)), new Date(day(31)));
    expect(f.windowDays).toBe(30);
    expect(f.deployments).toBe(4);
    expect(f.deploymentFrequencyPerDay).toBeCloseTo(4 / 30, 10);
    // Lead times 48 h, 36 h, 12 h, 6 h → median 24 h.
    expect(f.leadTimeSeconds).toEqual({
      median: 24 * 3600,
      count: 4,
      values: [48, 36, 12, 6].map((h) => h * 3600),
    });
    // v3 (automatic) and v5 (by hand) failed, of 5 release deploys.
    expect(f.failedDeployments).toBe(2);
    expect(f.totalDeployments).toBe(5);
    expect(f.changeFailureRate).toBeCloseTo(0.4, 10);
    // Restores: 24 h (v3 → v4) and 4 h (v5 → rollback) → median 14 h.
    expect(f.timeToRestoreSeconds).toEqual({ median: 14 * 3600, count: 2, values: [24 * 3600, 4 * 3600] });
  });

  it('counts only what falls in the window', () => {
    const f = computeDora(HISTORY, 'web', 'production', new Date(day(6)), new Date(day(9)));
    expect(f.deployments).toBe(1);
    expect(f.totalDeployments).toBe(2);
    expect(f.changeFailureRate).toBe(0.5);
    expect(f.timeToRestoreSeconds.values).toEqual([24 * 3600]);
  });

  it('has no rates without deploys', () => {
    const f = computeDora(HISTORY, 'web', 'production', new Date(day(20)), new Date(day(30)));
    expect(f).toMatchObject({ deployments: 0, changeFailureRate: null, leadTimeSeconds: { median: null } });
  });

  it('parses windows and medians', () => {
    expect(parseWindow('30d')).toBe(30 * 86_400_000);
    expect(parseWindow('12h')).toBe(12 * 3_600_000);
    expect(parseWindow('0m')).toBeUndefined();
    expect(parseWindow('401d')).toBeUndefined();
    expect(parseWindow('x')).toBeUndefined();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([])).toBeNull();
  });
});
