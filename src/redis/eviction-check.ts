import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { primaries, type RedisClient } from './connection.js';

/**
 * BullMQ keeps jobs as ordinary keys; under any eviction policy but `noeviction` Redis may
 * drop them when memory runs out, silently losing queued work (bullmq#2215).
 * Returns the warning to log, or undefined when the policy is safe.
 */
export function evictionWarning(policy: string | undefined): string | undefined {
  if (policy === 'noeviction') return undefined;
  if (policy === undefined) {
    return 'could not read the Redis maxmemory-policy; make sure it is noeviction, or BullMQ may lose jobs (bullmq#2215)';
  }
  return `Redis maxmemory-policy is ${policy}: under memory pressure Redis will evict BullMQ jobs (bullmq#2215); set it to noeviction`;
}

/** Reads the policy: CONFIG GET where allowed, INFO memory where CONFIG is disabled (managed Redis). */
export async function readEvictionPolicy(redis: Redis): Promise<string | undefined> {
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as unknown as string[];
    if (Array.isArray(reply) && typeof reply[1] === 'string') return reply[1];
  } catch {
    // CONFIG is often renamed or disabled on managed Redis; INFO is not.
  }
  try {
    const info = await redis.info('memory');
    return /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Logs a warning at start-up when the Redis eviction policy can lose jobs. On a cluster each
 * primary has its own policy and holds its own share of the keys, so each is checked.
 */
export async function checkEvictionPolicy(redis: RedisClient, logger: Logger): Promise<string | undefined> {
  const nodes = primaries(redis);
  const warnings: string[] = [];
  for (const node of nodes) {
    const policy = await readEvictionPolicy(node);
    const warning = evictionWarning(policy);
    if (warning === undefined) continue;
    const at = nodes.length > 1 ? { node: `${node.options.host}:${node.options.port}` } : {};
    logger.warn({ maxmemoryPolicy: policy ?? null, ...at }, warning);
    warnings.push(nodes.length > 1 ? `${at.node}: ${warning}` : warning);
  }
  return warnings.length === 0 ? undefined : warnings.join('; ');
}
