/**
 * The BullMQ key prefix for Shipgate's queue prefix: `shipgate` → `{shipgate}`.
 *
 * BullMQ's Lua scripts touch several keys of a queue at once (wait list, job hashes, events
 * stream…), and the webhook ingress checks a batch of job keys in one script. On Redis Cluster
 * that only works when all of them hash to one slot, which the braces (a hash tag) ensure, as
 * BullMQ's own guide asks (https://docs.bullmq.io/bull/patterns/redis-cluster). On a single
 * Redis or Sentinel the braces change nothing but the key names.
 *
 * Every Queue, Worker and QueueEvents must get its prefix from here, or producer and worker
 * would look at different keys.
 */
export function bullmqPrefix(queuePrefix: string): string {
  if (/[{}]/.test(queuePrefix)) {
    // The config rejects these; a caller passing an already-tagged prefix is a bug.
    throw new TypeError(`queue prefix must not contain braces (got ${JSON.stringify(queuePrefix)})`);
  }
  return `{${queuePrefix}}`;
}
