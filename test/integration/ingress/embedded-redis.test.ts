import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { embeddedRedisUrl, startEmbeddedRedis } from '../../../src/redis/embedded-redis.js';
import { checkEvictionPolicy, readEvictionPolicy } from '../../../src/redis/eviction-check.js';
import { LogCapture } from './ingress-harness.js';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'shipgate-embedded-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Speaks RESP inline commands over a plain socket and returns the first `replies` lines. */
function rawRedis(port: number, commands: string, replies: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk) => {
      text += chunk.toString();
      if (text.split('\r\n').length > replies) {
        socket.destroy();
        resolve(text);
      }
    });
    socket.on('error', reject);
    socket.write(commands);
  });
}

describe('embedded redis-server', () => {
  it('runs with AOF, noeviction, loopback and a data dir under dataDir; stops cleanly', async () => {
    const dataDir = tempDir();
    const redisServer = await startEmbeddedRedis({ dataDir });
    const client = new Redis(redisServer.url);
    try {
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await readEvictionPolicy(client)).toBe('noeviction');
      expect(await client.config('GET', 'dir')).toEqual(['dir', path.join(dataDir, 'redis')]);
      expect(await client.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
      expect(embeddedRedisUrl(dataDir)).toBe(redisServer.url);
    } finally {
      client.disconnect();
      await redisServer.stop();
    }
    expect(embeddedRedisUrl(dataDir)).toBeUndefined();
    expect(() => process.kill(redisServer.pid!, 0)).toThrow();
  });

  it('makes only its own folder private: a data dir it creates stays reachable for sandboxed gates', async () => {
    // `shipgate start` on a fresh clone creates .shipgate/ here; the demo's gates (another uid)
    // later need to reach .shipgate/demo/… below it.
    const dataDir = path.join(tempDir(), '.shipgate');
    const redisServer = await startEmbeddedRedis({ dataDir });
    try {
      expect(statSync(path.join(dataDir, 'redis')).mode & 0o777).toBe(0o700);
      expect(statSync(dataDir).mode & 0o777).toBe(0o777 & ~process.umask());
    } finally {
      await redisServer.stop();
    }
  });

  it('requires a random password that no command line and no world-readable file shows', async () => {
    const dataDir = tempDir();
    const redisServer = await startEmbeddedRedis({ dataDir });
    const password = new URL(redisServer.url).password;
    try {
      expect(password.length).toBeGreaterThanOrEqual(40);
      expect(await rawRedis(redisServer.port, 'PING\r\nAUTH wrong-password\r\n', 2)).toMatch(
        /^-NOAUTH.*\r\n-WRONGPASS/s,
      );
      expect(await rawRedis(redisServer.port, `AUTH ${password}\r\nPING\r\n`, 2)).toBe('+OK\r\n+PONG\r\n');
      expect(readFileSync(`/proc/${redisServer.pid}/cmdline`, 'utf8')).not.toContain(password);
      const urlFile = path.join(dataDir, 'redis', 'shipgate-redis.url');
      expect(statSync(urlFile).mode & 0o077).toBe(0);
      expect(statSync(path.join(dataDir, 'redis')).mode & 0o077).toBe(0);
      const second = await startEmbeddedRedis({ dataDir: tempDir() });
      expect(new URL(second.url).password).not.toBe(password);
      await second.stop();
    } finally {
      await redisServer.stop();
    }
  });

  it('says how to get redis-server when there is none', async () => {
    await expect(
      startEmbeddedRedis({ dataDir: tempDir(), command: '/nonexistent/redis-server' }),
    ).rejects.toMatchObject({
      code: 'SHIPGATE_E_REDIS_NOT_INSTALLED',
      message: expect.stringMatching(/apt-get install redis-server.*brew install redis.*docker run/),
    });
  });

  it('warns when a Redis may evict jobs, and not when it cannot', async () => {
    const redisServer = await startEmbeddedRedis({ dataDir: tempDir(), appendOnly: false });
    const client = new Redis(redisServer.url);
    try {
      const log = new LogCapture();
      expect(await checkEvictionPolicy(client, createLogger('info', log))).toBeUndefined();
      await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const warning = await checkEvictionPolicy(client, createLogger('info', log));
      expect(warning).toMatch(/allkeys-lru.*bullmq#2215/);
      expect(log.lines()).toHaveLength(1);
      expect(log.lines()[0]).toMatchObject({ level: 40, maxmemoryPolicy: 'allkeys-lru' });
    } finally {
      client.disconnect();
      await redisServer.stop();
    }
  });
});
