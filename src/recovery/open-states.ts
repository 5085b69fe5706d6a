/** Deployment states that still promise an outcome on GitHub's Environments page. */
export const OPEN_DEPLOYMENT_STATES: readonly string[] = ['pending', 'queued', 'in_progress'];

/** Check-run states that still promise an outcome on a PR or commit. */
export const OPEN_CHECK_STATES: readonly string[] = [
  'queued',
  'in_progress',
  'requested',
  'waiting',
  'pending',
];
