import { defineConfig } from 'vitest/config';

/**
 * `npm run test:load`: the heavy tests of the ingress under hostile and full-speed load (test/load).
 * Each runs tens of seconds on a 2-core machine, so they are kept out of `npm test`, one file at a time.
 */
export default defineConfig({
  test: {
    include: ['test/load/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 180_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
