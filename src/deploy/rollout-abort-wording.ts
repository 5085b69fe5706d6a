/**
 * How a run event says what happened to the Rollout when a gate failed. Shipgate aborts it only
 * when it is still mid-update; when Argo Rollouts had already aborted it (a failed analysis
 * aborts on its own), saying "aborted the Rollout" would credit Shipgate with the controller's act.
 */
export function rolloutAbortWording(aborted: boolean): string {
  return aborted ? 'aborted the Rollout' : 'the Rollout was already aborted (by Argo Rollouts)';
}
