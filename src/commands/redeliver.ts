import { parseArgs } from 'node:util';
import { ConfigInvalid } from '../errors.js';
import { createLogger } from '../logger.js';
import { createMetrics } from '../metrics/create-metrics.js';
import { parseSince } from '../redelivery/plan-redeliveries.js';
import { sweepMissedDeliveries } from '../redelivery/sweep-missed-deliveries.js';
import { createRedisConnection } from '../redis/connection.js';
import { embeddedRedisUrl } from '../redis/embedded-redis.js';
import type { Command } from './command.js';
import { readConfig } from './runtime.js';

export const redeliverCommand: Command = {
  name: 'redeliver',
  summary: 'ask GitHub to redeliver webhook deliveries that failed (since the last sweep, or --since)',
  usage: 'shipgate redeliver [--since <ISO time | duration like 90m, 6h, 2d>]',
  flags: [
    {
      flag: '--since <time>',
      description: 'look back to this ISO time or duration (default: since the last sweep)',
    },
  ],
  env: ['GITHUB_APP_ID', 'GITHUB_PRIVATE_KEY_PATH', 'REDIS_URL'],
  examples: ['shipgate redeliver --since 6h'],
  async run(args) {
    const { values } = parseArgs({ args, options: { since: { type: 'string' } }, strict: true });
    const config = readConfig('cli');
    const { appId, privateKey, apiUrl } = config.github;
    if (appId === undefined) throw ConfigInvalid('GITHUB_APP_ID', 'is required for shipgate redeliver');
    if (privateKey === undefined) {
      throw ConfigInvalid(
        'GITHUB_PRIVATE_KEY',
        'or GITHUB_PRIVATE_KEY_PATH is required for shipgate redeliver',
      );
    }
    const since = values.since === undefined ? undefined : parseSince(values.since, new Date());
    if (values.since !== undefined && since === undefined) {
      throw ConfigInvalid(
        '--since',
        `must be an ISO time or a duration like 6h (got ${JSON.stringify(values.since)})`,
      );
    }
    const redisUrl = config.redisUrl ?? embeddedRedisUrl(config.dataDir);
    if (redisUrl === undefined) {
      throw ConfigInvalid(
        'REDIS_URL',
        'is required for shipgate redeliver (or run it while `shipgate start` is up)',
      );
    }
    const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
    const redis = createRedisConnection(redisUrl, 'worker', { connectionName: 'shipgate-redeliver' });
    try {
      // Octokit is loaded here, not with the registry every command (`serve` too) imports.
      const { createHookDeliveriesClient } = await import('../redelivery/hook-deliveries-client.js');
      const result = await sweepMissedDeliveries({
        client: createHookDeliveriesClient({ appId, privateKey, apiUrl }),
        redis,
        prefix: config.queuePrefix,
        logger,
        metrics: createMetrics({ processMetrics: false }),
        since,
      });
      if (result.skipped === 'locked') {
        console.log('Another redelivery sweep is running; try again in a minute.');
        return 1;
      }
      console.log(
        [
          `Scanned ${result.scanned} deliveries since ${result.since} (${result.pages} page(s)${result.complete ? '' : ', stopped at the page limit'}).`,
          `Failed and handled: ${result.failed}. Redelivery requested: ${result.redelivered.length}.` +
            ` Gave up: ${result.gaveUp.length}. Errors: ${result.errors.length}. Deferred: ${result.deferred}.`,
          ...result.redelivered.map((g) => `  redelivered ${g}`),
          ...result.gaveUp.map((g) => `  gave up on ${g}`),
          ...result.errors.map((g) => `  error for ${g}`),
        ].join('\n'),
      );
      return result.errors.length === 0 ? 0 : 1;
    } finally {
      redis.disconnect();
    }
  },
};
