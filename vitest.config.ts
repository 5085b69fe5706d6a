import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
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
          // Pure functions, no servers or child processes: threads share one module graph per
          // worker (isolate: false), so the fixed start-up cost is paid per worker, not per file.
          pool: 'threads',
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Integration tests start real servers, git repos and redis-server children;
          // forks keep each file's process state (env, cwd, child processes) isolated.
          pool: 'forks',
        },
      },
    ],
  },
});
