import { RedisUrlInvalid } from '../errors.js';

/**
 * What `REDIS_URL` (plus `REDIS_CLUSTER_NODES`) points at. Pure: no I/O, so every form and
 * every mistake is unit tested (test/unit/redis/redis-target.test.ts).
 *
 * - `redis://[user:pass@]host:port[/db]`, `rediss://…`: one Redis (ioredis parses it itself).
 * - `redis+cluster://[user:pass@]host:port[,host:port…]`, `rediss+cluster://…`: Redis Cluster.
 *   One seed is enough (the others are discovered); more seeds help when one is down.
 * - `redis+sentinel://[user:pass@]host:port[,host:port…]/<master-name>[?db=N]`,
 *   `rediss+sentinel://…`: the primary that the Sentinels name. The user and password are the
 *   primary's; Sentinels that need their own take `?sentinelUsername=…&sentinelPassword=…`.
 */
export interface RedisNode {
  host: string;
  port: number;
}

interface Credentials {
  username?: string;
  password?: string;
}

export type RedisTarget =
  | { kind: 'single'; url: string; tls: boolean }
  | ({ kind: 'cluster'; nodes: RedisNode[]; tls: boolean } & Credentials)
  | ({
      kind: 'sentinel';
      sentinels: RedisNode[];
      masterName: string;
      tls: boolean;
      db?: number;
      sentinelUsername?: string;
      sentinelPassword?: string;
    } & Credentials);

const SCHEMES: Record<string, { kind: RedisTarget['kind']; tls: boolean }> = {
  redis: { kind: 'single', tls: false },
  rediss: { kind: 'single', tls: true },
  'redis+cluster': { kind: 'cluster', tls: false },
  'rediss+cluster': { kind: 'cluster', tls: true },
  'redis+sentinel': { kind: 'sentinel', tls: false },
  'rediss+sentinel': { kind: 'sentinel', tls: true },
};

const DEFAULT_PORT = { cluster: 6379, sentinel: 26379 } as const;

/** Replaces the password of any of our URL forms with `***`, for messages and logs. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@]*@/i, '$1***@');
}

/**
 * Parses a Redis URL. `clusterNodes` is `REDIS_CLUSTER_NODES` (`host:port,host:port`): more
 * seeds for a cluster URL. Throws `SHIPGATE_E_REDIS_URL_INVALID` with the password redacted.
 */
export function parseRedisTarget(url: string, clusterNodes?: string): RedisTarget {
  const fail = (reason: string): never => {
    throw RedisUrlInvalid(`${reason} (got ${JSON.stringify(redactRedisUrl(url))})`);
  };
  const match = /^([a-z+]+):\/\/(?:([^@/?#]*)@)?([^/?#]*)(\/[^?#]*)?(?:\?([^#]*))?$/i.exec(url.trim());
  if (!match)
    return fail('not a Redis URL: expected redis://, rediss://, redis+cluster:// or redis+sentinel://');
  const [, rawScheme, userinfo, hostPart, pathPart, query] = match;
  const scheme = SCHEMES[rawScheme!.toLowerCase()];
  if (scheme === undefined) {
    return fail(
      `unknown scheme ${rawScheme}:// (use redis, rediss, redis+cluster, rediss+cluster, redis+sentinel or rediss+sentinel)`,
    );
  }
  if (clusterNodes !== undefined && clusterNodes.trim() !== '' && scheme.kind !== 'cluster') {
    return fail('REDIS_CLUSTER_NODES only applies to a redis+cluster:// URL');
  }
  if (scheme.kind === 'single') {
    // ioredis reads these itself; check only what would otherwise fail late and obscurely.
    try {
      new URL(url);
    } catch {
      return fail('not a valid URL');
    }
    if (hostPart === '' || hostPart!.includes(',')) return fail('a redis:// URL names exactly one host');
    return { kind: 'single', url, tls: scheme.tls };
  }

  const credentials = parseUserinfo(userinfo, fail);
  const port = DEFAULT_PORT[scheme.kind];
  const hosts = [hostPart!, ...(scheme.kind === 'cluster' && clusterNodes ? [clusterNodes] : [])]
    .flatMap((list) => list.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (hosts.length === 0) return fail('names no host');
  const nodes = hosts.map((h) => parseNode(h, port, fail));
  const params = new URLSearchParams(query ?? '');

  if (scheme.kind === 'cluster') {
    if (pathPart !== undefined && pathPart !== '' && pathPart !== '/') {
      return fail('Redis Cluster has only database 0: drop the path');
    }
    if ([...params.keys()].length > 0) return fail('a redis+cluster:// URL takes no query parameters');
    return { kind: 'cluster', nodes: dedupe(nodes), tls: scheme.tls, ...credentials };
  }

  const masterName = decodeURIComponent((pathPart ?? '').replace(/^\//, ''));
  if (masterName === '' || masterName.includes('/')) {
    return fail('a redis+sentinel:// URL ends in /<master-name>');
  }
  const target: RedisTarget = {
    kind: 'sentinel',
    sentinels: dedupe(nodes),
    masterName,
    tls: scheme.tls,
    ...credentials,
  };
  for (const [key, value] of params) {
    if (key === 'db') {
      if (!/^\d{1,2}$/.test(value)) return fail('db must be a database number');
      target.db = Number(value);
    } else if (key === 'sentinelUsername') target.sentinelUsername = value;
    else if (key === 'sentinelPassword') target.sentinelPassword = value;
    else
      return fail(`unknown query parameter ${JSON.stringify(key)} (db, sentinelUsername, sentinelPassword)`);
  }
  return target;
}

/** The target without secrets, for logs: `cluster 10.0.0.1:6379,10.0.0.2:6379 (tls)`. */
export function describeRedisTarget(target: RedisTarget): string {
  const tls = target.tls ? ' (tls)' : '';
  const nodes = (list: RedisNode[]) => list.map((n) => `${n.host}:${n.port}`).join(',');
  switch (target.kind) {
    case 'single':
      return `redis ${redactRedisUrl(target.url)}`;
    case 'cluster':
      return `cluster ${nodes(target.nodes)}${tls}`;
    case 'sentinel':
      return `sentinel ${nodes(target.sentinels)} master ${target.masterName}${tls}`;
  }
}

/** Every password a target carries, for the log masker. */
export function redisTargetSecrets(target: RedisTarget): string[] {
  if (target.kind === 'single') {
    try {
      const password = new URL(target.url).password;
      return password === '' ? [] : [decodeURIComponent(password)];
    } catch {
      return [];
    }
  }
  const secrets = [target.password];
  if (target.kind === 'sentinel') secrets.push(target.sentinelPassword);
  return secrets.filter((s): s is string => s !== undefined && s !== '');
}

function parseUserinfo(userinfo: string | undefined, fail: (reason: string) => never): Credentials {
  if (userinfo === undefined || userinfo === '') return {};
  const colon = userinfo.indexOf(':');
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return fail('the user or password is not validly percent-encoded');
    }
  };
  const username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon));
  const password = colon === -1 ? undefined : decode(userinfo.slice(colon + 1));
  return {
    ...(username !== '' ? { username } : {}),
    ...(password !== undefined && password !== '' ? { password } : {}),
  };
}

function parseNode(text: string, defaultPort: number, fail: (reason: string) => never): RedisNode {
  const match = /^(\[[0-9a-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(text);
  if (!match) return fail(`${JSON.stringify(text)} is not host:port`);
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  if (port < 1 || port > 65535) return fail(`port ${port} is out of range`);
  return { host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

function dedupe(nodes: RedisNode[]): RedisNode[] {
  const seen = new Set<string>();
  return nodes.filter((n) => {
    const key = `${n.host}:${n.port}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
