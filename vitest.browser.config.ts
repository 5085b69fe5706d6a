import { defineConfig } from 'vitest/config';

/**
 * `npm run test:browser`: the web console in real Chromium (Debian's /usr/bin/chromium through
 * playwright-core) against a real `shipgate serve` and workers with the sandbox stand-ins.
 * One file, one stack: the scenarios run in order in one world, as a person would click.
 */
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    pool: 'forks',
    globalSetup: ['./test/support/global-setup.ts'],
    testTimeout: 90_000,
    hookTimeout: 180_000,
    maxWorkers: 1,
    fileParallelism: false,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
