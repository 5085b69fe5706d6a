import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real servers, git repos and redis-server children;
    // forks keep each file's process state (env, cwd, child processes) isolated.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: more workers than that only adds contention on Redis and git.
    maxWorkers: 2,
  },
});
