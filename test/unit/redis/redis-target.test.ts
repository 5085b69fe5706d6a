import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { RedisUrlInvalid } from '../../../src/errors.js';
import { redisPasswords } from '../../../src/masking/secret-masker.js';
import { describeRedisTarget, parseRedisTarget, redactRedisUrl } from '../../../src/redis/redis-target.js';

function errorOf(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected a throw');
}

describe('parseRedisTarget', () => {
  it('passes redis:// and rediss:// through for ioredis to read', () => {
    expect(parseRedisTarget('redis://:pw@10.0.0.5:6380/2')).toEqual({
      kind: 'single',
      url: 'redis://:pw@10.0.0.5:6380/2',
      tls: false,
    });
    expect(parseRedisTarget('rediss://default:pw@cache.example:6379')).toMatchObject({
      kind: 'single',
      tls: true,
    });
  });

  it('reads a cluster seed, credentials, TLS, and more seeds from REDIS_CLUSTER_NODES', () => {
    expect(parseRedisTarget('redis+cluster://app:s%40cret@10.0.0.1:7000')).toEqual({
      kind: 'cluster',
      nodes: [{ host: '10.0.0.1', port: 7000 }],
      tls: false,
      username: 'app',
      password: 's@cret',
    });
    expect(
      parseRedisTarget(
        'rediss+cluster://:pw@node-a.example',
        'node-b.example:6380, [fd00::3]:6381,node-a.example',
      ),
    ).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'node-a.example', port: 6379 },
        { host: 'node-b.example', port: 6380 },
        { host: 'fd00::3', port: 6381 },
      ],
      tls: true,
      password: 'pw',
    });
  });

  it('reads Sentinels, the master name, db and the Sentinels’ own credentials', () => {
    expect(
      parseRedisTarget('redis+sentinel://:pw@s1:26379,s2,s3:26380/mymaster?db=2&sentinelPassword=spw'),
    ).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
        { host: 's3', port: 26380 },
      ],
      masterName: 'mymaster',
      tls: false,
      password: 'pw',
      db: 2,
      sentinelPassword: 'spw',
    });
    expect(parseRedisTarget('rediss+sentinel://s1/primary')).toMatchObject({ kind: 'sentinel', tls: true });
  });

  it.each([
    ['http://localhost:6379', /unknown scheme/],
    ['not a url', /not a Redis URL/],
    ['redis+cluster://', /names no host/],
    ['redis+cluster://h:7000/3', /only database 0/],
    ['redis+cluster://h:99999', /out of range/],
    ['redis+cluster://h:7000?x=1', /no query parameters/],
    ['redis+sentinel://s1:26379', /master-name/],
    ['redis+sentinel://s1:26379/m?db=x', /database number/],
    ['redis+sentinel://s1:26379/m?timeout=1', /unknown query parameter/],
    ['redis+cluster://bad host:7000', /not host:port/],
  ])('refuses %s with a typed error', (url, message) => {
    const err = errorOf(() => parseRedisTarget(url));
    expect(err.code).toBe(RedisUrlInvalid.code);
    expect(err.message).toMatch(message);
  });

  it('never puts a password in an error or a description', () => {
    const err = errorOf(() => parseRedisTarget('redis+cluster://app:hunter2-secret@h:7000/9'));
    expect(err.message).not.toContain('hunter2-secret');
    expect(err.message).toContain('app:***@');
    expect(redactRedisUrl('redis://:hunter2-secret@h:1')).toBe('redis://:***@h:1');
    for (const url of [
      'redis://:hunter2-secret@h:1',
      'redis+cluster://u:hunter2-secret@h:7000',
      'redis+sentinel://u:hunter2-secret@s:26379/m?sentinelPassword=hunter2-secret',
    ]) {
      expect(describeRedisTarget(parseRedisTarget(url))).not.toContain('hunter2-secret');
      expect(redisPasswords(url)).toContain('hunter2-secret');
    }
  });

  it('REDIS_CLUSTER_NODES joins a cluster URL in the config, and only a cluster URL', () => {
    const base = { GITHUB_WEBHOOK_SECRET: 'config-test-webhook-secret-1' };
    const config = loadConfig(
      { ...base, REDIS_URL: 'redis+cluster://:pw@a:7000', REDIS_CLUSTER_NODES: 'b:7001,c:7002' },
      'serve',
    );
    expect(parseRedisTarget(config.redisUrl!)).toMatchObject({
      kind: 'cluster',
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
        { host: 'c', port: 7002 },
      ],
      password: 'pw',
    });
    const wrong = errorOf(() =>
      loadConfig({ ...base, REDIS_URL: 'redis://:pw@a:6379', REDIS_CLUSTER_NODES: 'b:7001' }, 'serve'),
    );
    expect(wrong).toMatchObject({ code: 'SHIPGATE_E_CONFIG_INVALID' });
    expect(wrong.message).toMatch(/^REDIS_CLUSTER_NODES: /);
    const bad = errorOf(() => loadConfig({ ...base, REDIS_URL: 'redis+sentinel://:pw@s:1' }, 'serve'));
    expect(bad.message).toMatch(/^REDIS_URL: /);
    expect(bad.message).not.toContain(':pw@');
  });
});
