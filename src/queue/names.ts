/**
 * Queue names: one queue per stage kind, so each scales and retries on its own.
 * `webhook` holds verified GitHub deliveries; the pipeline worker turns them into runs.
 */
export const QUEUE_NAMES = [
  'webhook',
  'pipeline',
  'test',
  'trivy',
  'zap',
  'render',
  'deploy',
  'approval',
  'notify',
  'maintenance',
] as const;

export type QueueName = (typeof QUEUE_NAMES)[number];
