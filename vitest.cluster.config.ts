import { defineConfig } from 'vitest/config';

/**
 * `npm run test:cluster`: the Redis-touching integration tests again, against a real Redis
 * Cluster of three primaries that test/support/cluster-global-setup.ts starts on free ports
 * (redis-server --cluster-enabled yes ×3 + redis-cli --cluster create). Every test's Redis
 * helper hands out `redis+cluster://` connections, so a script or transaction whose keys span
 * two slots fails here with CROSSSLOT. Plus the Sentinel test. 30 s to 1 min on a two-core
 * machine, up to 3 min with its cores saturated.
 */
export default defineConfig({
  test: {
    include: [
      'test/integration/runs/**/*.test.ts',
      'test/integration/approvals/**/*.test.ts',
      'test/integration/audit/**/*.test.ts',
      'test/integration/slack/message-ledger.test.ts',
      'test/integration/slack/notify.test.ts',
      'test/integration/slack/interactions-routes.test.ts',
      'test/integration/deploy/deploy-lock-safety.test.ts',
      'test/integration/queue/**/*.test.ts',
      'test/integration/ingress/group-commit.test.ts',
      'test/integration/redis/**/*.test.ts',
      'test/integration/engine/release-flow.test.ts',
    ],
    pool: 'forks',
    globalSetup: ['./test/support/cluster-global-setup.ts'],
    env: { SHIPGATE_TEST_REDIS: 'cluster' },
    // A loaded 2-core CI machine: the release flow takes ~40 s here against ~20 s alone.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
