import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded-redis.js';

/**
 * A private redis-server child on a free port, for tests that stop and restart Redis
 * (fault tests must not touch the shared test Redis). Data is in a temp dir with AOF on, so
 * what was queued before `stop()` is there again after `start()`.
 */
export interface TestRedisServer {
  url: string;
  port: number;
  /** Stops the server (SIGTERM, AOF flushed). */
  stop(): Promise<void>;
  /** Starts it again on the same port and data dir. */
  start(): Promise<void>;
  /** Stops it and removes the data dir. */
  dispose(): Promise<void>;
  /** The running server's pid, for a synchronous kill in an exit handler. */
  pid(): number | undefined;
}

export async function startRedisServer(): Promise<TestRedisServer> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'shipgate-redis-'));
  const port = await freePort();
  // One password for the server's life, so a restart keeps the URL its clients hold.
  const password = randomBytes(24).toString('base64url');
  let server: EmbeddedRedis | undefined = await startEmbeddedRedis({ dataDir, port, password });
  return {
    url: server.url,
    port,
    async stop() {
      await server?.stop();
      server = undefined;
    },
    async start() {
      if (server === undefined) server = await startEmbeddedRedis({ dataDir, port, password });
    },
    pid: () => server?.pid,
    async dispose() {
      await server?.stop();
      server = undefined;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
