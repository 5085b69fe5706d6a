import { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import { bullmqPrefix } from './bullmq-prefix.js';
import { QUEUE_NAMES, type QueueName } from './names.js';

/** The queues the HTTP ingress writes to. */
export interface IngressQueues {
  webhook: Queue;
}

export type AllQueues = Record<QueueName, Queue>;

/**
 * A producer-side queue on a shared connection. BullMQ does not close a connection it was
 * given, so the caller owns `connection` and closes it after the queues. `prefix` is Shipgate's
 * queue prefix (`config.queuePrefix`); the queue's keys live under `bullmqPrefix(prefix)`.
 */
export function createQueue(name: QueueName, connection: RedisClient, prefix: string): Queue {
  const queue = new Queue(name, { connection, prefix: bullmqPrefix(prefix) });
  // Errors surface on the calls that fail (add, getJobCounts); without a listener an
  // 'error' event during a Redis outage would crash the process.
  queue.on('error', () => {});
  return queue;
}

export function createIngressQueues(connection: RedisClient, prefix: string): IngressQueues {
  return { webhook: createQueue('webhook', connection, prefix) };
}

export function createAllQueues(connection: RedisClient, prefix: string): AllQueues {
  return Object.fromEntries(
    QUEUE_NAMES.map((name) => [name, createQueue(name, connection, prefix)]),
  ) as AllQueues;
}

export async function closeQueues(queues: Iterable<Queue>): Promise<void> {
  await Promise.allSettled([...queues].map((q) => q.close()));
}
