import { defineConfig } from 'vitest/config';

/**
 * `npm run test:e2e`: end-to-end runs of whole installs, each tens of seconds on a 2-core
 * machine: the demo from start to revert, one release traced across three Shipgate processes
 * (serve and two workers, OTLP to a receiver stand-in), the disaster-recovery drill (Redis wiped
 * mid-release), the CLI as users run it (the compiled binary, `start` and its signals,
 * `setup`, `init` and `validate`), a production-only install serving /livez,
 * the production SBOM with its licence check, and a deploy worker killed with SIGKILL at every
 * step boundary of each strategy (deploy-kill9-*.test.ts: 90 cases, 4 to 7 minutes). Kept out
 * of `npm test` so it stays a few minutes.
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    pool: 'forks',
    globalSetup: ['./test/support/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 600_000,
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
