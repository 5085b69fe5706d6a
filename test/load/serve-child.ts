/**
 * A real Shipgate server in its own process, so a test can measure its memory alone. Started by
 * `startChildServer` (tsx); prints `LISTENING <url>` on stdout and logs to stderr.
 * Env: REDIS_URL, SHIPGATE_QUEUE_PREFIX, GITHUB_WEBHOOK_SECRET, CHILD_TIMEOUTS (JSON), LOG_LEVEL.
 */
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics/create-metrics.js';
import { createIngressQueues } from '../../src/queue/create-queues.js';
import { createRedisConnection } from '../../src/redis/connection.js';
import { buildServer } from '../../src/server/build-server.js';

const config = loadConfig(process.env, 'serve');
const logger = createLogger(config.logLevel, process.stderr as never);
const producer = createRedisConnection(config.redisUrl!, 'producer');
await new Promise((r) => producer.once('ready', r));
const queues = createIngressQueues(producer, config.queuePrefix);
const app = await buildServer({
  config,
  logger,
  producer,
  queues,
  metrics: createMetrics({ processMetrics: false }),
  limits: { timeouts: JSON.parse(process.env.CHILD_TIMEOUTS ?? '{}') as Record<string, number> },
});
const url = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`LISTENING ${url}\n`);
// SIGUSR2 asks how many connections the server holds: what a slow-connection attack costs it.
process.on('SIGUSR2', () => {
  app.server.getConnections((_err, count) => process.stdout.write(`CONNECTIONS ${count}\n`));
});
process.on('SIGTERM', () => {
  void app.close().then(() => {
    producer.disconnect();
    process.exit(0);
  });
});
