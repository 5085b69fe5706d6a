/** The check runs Shipgate owns; developers see these names on their PRs and commits. */
export const CHECK_NAMES = {
  config: 'shipgate/config',
  tests: 'shipgate/tests',
  trivy: 'shipgate/trivy',
  zap: 'shipgate/zap',
  manifests: 'shipgate/manifests',
} as const;

export type CheckKey = keyof typeof CHECK_NAMES;

/** `external_id` of our check runs: it leads a "Re-run" back to the run and the gate. */
export function checkExternalId(runId: string, key: CheckKey): string {
  return `${runId}/${key}`;
}

export function parseCheckExternalId(externalId: string): { runId: string; key: CheckKey } | undefined {
  const [runId, key] = externalId.split('/');
  if (!runId || !key || !(key in CHECK_NAMES)) return undefined;
  return { runId, key: key as CheckKey };
}
