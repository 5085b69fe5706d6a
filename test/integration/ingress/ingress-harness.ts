import { Writable } from 'node:stream';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { RedisClient } from '../../../src/redis/connection.js';
import { loadConfig, type Config } from '../../../src/config.js';
import { createLogger } from '../../../src/logger.js';
import { createMetrics, type Metrics } from '../../../src/metrics/create-metrics.js';
import { closeQueues, createIngressQueues, type IngressQueues } from '../../../src/queue/create-queues.js';
import { createRedisConnection } from '../../../src/redis/connection.js';
import { buildServer, type ServerLimits } from '../../../src/server/build-server.js';
import type { ConsoleOptions } from '../../../src/server/serve-console.js';
import { deleteKeysWithPrefix, TEST_REDIS_URL, uniquePrefix } from '../../support/redis.js';

/** Collects pino output in memory, so tests can assert what (and how much) was logged. */
export class LogCapture extends Writable {
  readonly chunks: string[] = [];
  bytes = 0;
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    const s = chunk.toString('utf8');
    this.chunks.push(s);
    this.bytes += chunk.length;
    cb();
  }
  lines(): Record<string, unknown>[] {
    return this.chunks
      .join('')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  text(): string {
    return this.chunks.join('');
  }
}

export interface Ingress {
  baseUrl: string;
  app: FastifyInstance;
  config: Config;
  producer: RedisClient;
  queues: IngressQueues;
  metrics: Metrics;
  log: LogCapture;
  prefix: string;
  redisUrl: string;
  /** Jobs on the webhook queue, in any state. */
  jobCount(): Promise<number>;
  close(): Promise<void>;
}

export interface IngressOptions {
  secrets?: string[];
  /**
   * Webhook secrets given to the server as they are, past the start-up rules: GitHub's published
   * signature vectors use secrets (`secret`, `mysecret`) that `loadConfig` rightly refuses.
   */
  publishedVectorSecrets?: string[];
  redisUrl?: string;
  limits?: ServerLimits;
  plugins?: FastifyPluginAsync[];
  env?: Record<string, string>;
  logLevel?: string;
  /** The web console; by default this checkout's dist/web (a 503 page when not built). */
  console?: ConsoleOptions | false;
}

export const SECRET = 'test-webhook-secret-current';

export async function startIngress(options: IngressOptions = {}): Promise<Ingress> {
  const prefix = uniquePrefix('ingress');
  const redisUrl = options.redisUrl ?? TEST_REDIS_URL;
  const loaded = loadConfig(
    {
      GITHUB_WEBHOOK_SECRET: (options.secrets ?? [SECRET]).join(','),
      SHIPGATE_QUEUE_PREFIX: prefix,
      REDIS_URL: redisUrl,
      LOG_LEVEL: options.logLevel ?? 'info',
      ...options.env,
    },
    'serve',
  );
  const vectors = options.publishedVectorSecrets;
  const config: Config = vectors
    ? Object.freeze({ ...loaded, github: Object.freeze({ ...loaded.github, webhookSecrets: vectors }) })
    : loaded;
  const log = new LogCapture();
  const logger = createLogger(config.logLevel, log);
  const producer = createRedisConnection(redisUrl, 'producer', { commandTimeoutMs: 1000 });
  await waitReady(producer);
  const queues = createIngressQueues(producer, prefix);
  const metrics = createMetrics({ processMetrics: false });
  metrics.watchQueues([queues.webhook]);
  const app = await buildServer({
    config,
    logger,
    producer,
    queues,
    metrics,
    plugins: options.plugins,
    limits: options.limits,
    console: options.console,
  });
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    baseUrl,
    app,
    config,
    producer,
    queues,
    metrics,
    log,
    prefix,
    redisUrl,
    async jobCount() {
      const counts = await queues.webhook.getJobCounts();
      return Object.values(counts).reduce((a, b) => a + b, 0);
    },
    async close() {
      await app.close();
      await closeQueues([queues.webhook]);
      producer.disconnect();
      await deleteKeysWithPrefix(prefix, redisUrl).catch(() => {});
    },
  };
}

async function waitReady(redis: RedisClient): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis not ready')), 5000);
    redis.once('ready', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
