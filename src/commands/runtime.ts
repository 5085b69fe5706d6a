import { existsSync } from 'node:fs';
import type { RedisClient } from '../redis/connection.js';
import { loadConfig, type Config, type Role } from '../config.js';
import { ConfigInvalid } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import { createMetrics, type Metrics } from '../metrics/create-metrics.js';
import { createRedisConnection, waitUntilReady } from '../redis/connection.js';
import { configSecrets, createSecretMasker } from '../masking/secret-masker.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../redis/embedded-redis.js';
import { checkEvictionPolicy } from '../redis/eviction-check.js';
import { createShutdown, type Shutdown } from '../shutdown.js';
import { startTracing, type TracingHandle } from '../telemetry/start-tracing.js';

/** What every long-running command shares: validated config, logger, Redis, metrics, shutdown. */
export interface Runtime {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  redisUrl: string;
  /** Producer connection: no offline queue, bounded commands. */
  producer: RedisClient;
  embeddedRedis: EmbeddedRedis | undefined;
  shutdown: Shutdown;
  /** Flushed by `addConnectionShutdown`, after the steps whose spans it must still export. */
  tracing: TracingHandle;
}

/**
 * Loads `.env` from the working folder when present. Values already in the environment win,
 * so a deployment's real variables are never overridden by a stray file.
 */
export function loadDotEnv(file = '.env'): void {
  if (!existsSync(file)) return;
  const loadEnvFile = (process as { loadEnvFile?: (path: string) => void }).loadEnvFile;
  if (loadEnvFile === undefined) return;
  const before = { ...process.env };
  loadEnvFile(file);
  for (const [k, v] of Object.entries(before)) process.env[k] = v;
}

/** Validates the environment for `role`. Throws `SHIPGATE_E_CONFIG_INVALID`, which the CLI prints as one line. */
export function readConfig(role: Role): Readonly<Config> {
  loadDotEnv();
  return loadConfig(process.env, role);
}

async function waitForRedis(redis: RedisClient, timeoutMs: number, logger: Logger): Promise<void> {
  if (redis.status === 'ready') return;
  // A slow start gets one warning; each failed attempt (a cluster's are typed errors naming the
  // node and the reason) at debug, and the last reason ends up in the error if time runs out.
  const warn = setTimeout(() => logger.warn('waiting for Redis…'), 2000);
  const onError = (err: Error) => logger.debug({ err: err.message }, 'redis connect attempt failed');
  redis.on('error', onError);
  try {
    await waitUntilReady(redis, timeoutMs);
  } finally {
    clearTimeout(warn);
    redis.off('error', onError);
  }
}

export interface OpenRuntimeOptions {
  /** `shipgate start` only: launch redis-server when REDIS_URL is unset. */
  embedRedis: boolean;
  /** @defaultValue 30000 */
  redisWaitMs?: number;
}

export async function openRuntime(config: Readonly<Config>, options: OpenRuntimeOptions): Promise<Runtime> {
  const logger = createLogger(config.logLevel, undefined, createSecretMasker(configSecrets(config)));
  const shutdown = createShutdown(logger);
  // Off unless the standard OTEL_* variables ask for it (docs/observability.md).
  const tracing = await startTracing(process.env);
  if (tracing.enabled) {
    logger.info('tracing on (OpenTelemetry, configured by OTEL_* variables)');
  }
  let embeddedRedis: EmbeddedRedis | undefined;
  let redisUrl = config.redisUrl;
  if (redisUrl === undefined) {
    if (!options.embedRedis) {
      throw ConfigInvalid('REDIS_URL', 'is required (only `shipgate start` launches its own redis-server)');
    }
    embeddedRedis = await startEmbeddedRedis({ dataDir: config.dataDir, logger });
    redisUrl = embeddedRedis.url;
  }
  const producer = createRedisConnection(redisUrl, 'producer', { connectionName: 'shipgate-producer' });
  try {
    await waitForRedis(producer, options.redisWaitMs ?? 30_000, logger);
  } catch (err) {
    producer.disconnect();
    await embeddedRedis?.stop();
    throw err;
  }
  await checkEvictionPolicy(producer, logger);
  return { config, logger, metrics: createMetrics(), redisUrl, producer, embeddedRedis, shutdown, tracing };
}

/** The last shutdown steps: connections, then the embedded Redis. Add these after everything else. */
export function addConnectionShutdown(runtime: Runtime, extra: RedisClient[] = []): void {
  // Spans end while the server and the workers close: flush them only after those steps.
  if (runtime.tracing.enabled) {
    runtime.shutdown.add({ name: 'tracing', timeoutMs: 5000, run: runtime.tracing.shutdown });
  }
  runtime.shutdown.add({
    name: 'redis connections',
    timeoutMs: 3000,
    run: async () => {
      await Promise.allSettled([runtime.producer, ...extra].map((c) => c.quit()));
    },
  });
  const embedded = runtime.embeddedRedis;
  if (embedded !== undefined) {
    runtime.shutdown.add({ name: 'embedded redis', timeoutMs: 8000, run: () => embedded.stop(5000) });
  }
}
