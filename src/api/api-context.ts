import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/create-metrics.js';
import type { AllQueues } from '../queue/create-queues.js';
import type { RedisClient } from '../redis/connection.js';
import { createConsoleAuth, type ConsoleAuth } from '../auth/console-auth.js';

// A leaf module: the route plugins in src/api import it, and src/server/api-plugins.ts imports
// those plugins, so the context cannot live there without an import cycle.

/** What an API plugin may use. Routes protect themselves with the guard of `consoleAuthOf(ctx)`. */
export interface ApiContext {
  config: Config;
  logger: Logger;
  producer: RedisClient;
  queues: AllQueues;
  metrics: Metrics;
  /** Tests inject one (e.g. with a policy source of their own); built from the config otherwise. */
  auth?: ConsoleAuth;
}

const authByProducer = new WeakMap<RedisClient, ConsoleAuth>();

/** The one ConsoleAuth of a server: every plugin of one context shares its guard and stores. */
export function consoleAuthOf(ctx: ApiContext): ConsoleAuth {
  if (ctx.auth) return ctx.auth;
  let auth = authByProducer.get(ctx.producer);
  if (!auth) {
    auth = createConsoleAuth({ config: ctx.config, redis: ctx.producer, logger: ctx.logger });
    authByProducer.set(ctx.producer, auth);
  }
  return auth;
}
