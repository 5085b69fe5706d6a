import { defineConfig } from 'vitest/config';

/**
 * `npm test`: two projects, so each kind of test pays only the cost it needs.
 * - `unit`: pure tests (test/unit). Threads, without per-file isolation: they share no state
 *   (no env, cwd, globals, fake timers or child processes), so one module graph per worker
 *   serves every file instead of being rebuilt file by file.
 * - `unit-cpu`: the unit tests that bound their own CPU time with `process.cpuUsage`. It counts
 *   every thread of the process, so in a threads pool it would also count the other worker's
 *   tests: these run in forks, one process per file.
 * - `integration`: tests that start real servers, git repos and redis-server children. Forks
 *   keep each file's process state (env, cwd, child processes) apart.
 * The load, end-to-end, cluster and browser tests have runs of their own (`npm run test:load`,
 * `test:e2e`, `test:cluster`, `test:browser`).
 */
// Unit tests that measure CPU with `process.cpuUsage` (process-wide, so not in threads).
const CPU_TIMED = [
  'test/unit/yaml/hostile-config-cost.test.ts',
  'test/unit/policy/decisions.test.ts',
  'test/unit/policy/repo-access.test.ts',
];

export default defineConfig({
  test: {
    // Stops the run at the start, one line per missing tool (git, redis-server, kustomize…).
    globalSetup: ['./test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: more workers than that only adds contention on Redis and git.
    maxWorkers: 2,
    // The default output for people, then one plain `N passed, N failed[, N skipped]` line
    // as the very last line for CI to read.
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          exclude: CPU_TIMED,
          pool: 'threads',
          isolate: false,
        },
      },
      {
        extends: true,
        test: { name: 'unit-cpu', include: CPU_TIMED, pool: 'forks' },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          pool: 'forks',
        },
      },
    ],
  },
});
