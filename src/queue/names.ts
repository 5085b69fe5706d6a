/**
 * Queue names: one queue per stage kind, so each scales and retries on its own, and every one
 * has a worker. `webhook` holds verified GitHub deliveries; its worker turns them into runs.
 * ZAP runs inside the deploy (against the preview) and notifications are sent in-process, so
 * neither has a queue.
 */
export const QUEUE_NAMES = [
  'webhook',
  'test',
  'trivy',
  'render',
  'deploy',
  'approval',
  'maintenance',
] as const;

export type QueueName = (typeof QUEUE_NAMES)[number];
