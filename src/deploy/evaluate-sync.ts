/**
 * Decides, from one Argo CD Application object, whether the sync to our env-repo commit has
 * finished. Pure: the caller polls and acts.
 */
import type { Application } from '../argocd/schema.js';

export type SyncVerdict =
  | { state: 'waiting'; reason: string }
  | { state: 'synced'; health: string | undefined }
  | { state: 'failed'; phase: string; reason: string };

function targets(revision: string | undefined, revisions: string[] | undefined, expected: string): boolean {
  return revision === expected || (revisions?.includes(expected) ?? false);
}

export function evaluateSync(app: Application, expectedRevision: string): SyncVerdict {
  const sync = app.status?.sync;
  const state = app.status?.operationState ?? undefined;
  const opRevision = state?.syncResult?.revision ?? state?.operation?.sync?.revision;
  const opRevisions = state?.syncResult?.revisions ?? state?.operation?.sync?.revisions;
  const opIsOurs = state !== undefined && targets(opRevision, opRevisions, expectedRevision);

  if (app.operation) {
    return { state: 'waiting', reason: 'the sync operation is requested and has not started yet' };
  }
  if (opIsOurs && (state.phase === 'Failed' || state.phase === 'Error')) {
    return { state: 'failed', phase: state.phase, reason: state.message ?? `sync ${state.phase}` };
  }
  if (opIsOurs && (state.phase === 'Running' || state.phase === 'Terminating')) {
    return { state: 'waiting', reason: `sync ${state.phase}: ${state.message ?? ''}`.trim() };
  }
  const atRevision = targets(sync?.revision, sync?.revisions, expectedRevision);
  // An operation that Succeeded for an older revision still counts when Argo CD already
  // compares against ours and finds nothing to apply (a commit that changed no resource).
  if (atRevision && sync?.status === 'Synced' && state?.phase === 'Succeeded') {
    return { state: 'synced', health: app.status?.health?.status };
  }
  const problems = (app.status?.conditions ?? [])
    .filter((c) => /Error$/.test(c.type))
    .map((c) => `${c.type}: ${c.message ?? ''}`.trim());
  const where = atRevision
    ? `at ${expectedRevision.slice(0, 12)} but ${sync?.status ?? 'Unknown'}`
    : `at ${sync?.revision?.slice(0, 12) ?? 'no revision'}, waiting for ${expectedRevision.slice(0, 12)}`;
  return { state: 'waiting', reason: [where, ...problems].join('; ') };
}
