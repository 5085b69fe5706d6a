import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The load, end-to-end and browser tests have runs of their own (`npm run test:load`,
    // `test:e2e`, `test:browser`).
    exclude: ['test/load/**', 'test/e2e/**', 'test/browser/**', '**/node_modules/**'],
    // Integration tests start real servers, git repos and redis-server children;
    // forks keep each file's process state (env, cwd, child processes) isolated.
    pool: 'forks',
    // Stops the run at the start, one line per missing tool (git, redis-server, kustomize…).
    globalSetup: ['./test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: more workers than that only adds contention on Redis and git.
    maxWorkers: 2,
    // The default output for people, then one plain `N passed, N failed[, N skipped]` line
    // as the very last line for CI to read.
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
