import { preflightDeploy } from '../../../deploy/preflight.js';
import type { Run } from '../../../runs/run-types.js';
import type { EngineContext } from '../../context/engine-context.js';
import type { PlannedEnvironment } from '../../decisions/deploy-targets.js';

/** The commit a deploy verifies: its sha and the files it wrote for the app and environment. */
export interface DeployCommit {
  sha: string;
  files: string[];
}

/**
 * Step 1 of a release deploy and of a manual rollback alike: the env-repo commit, once per run
 * and environment. A retry reuses the recorded commit. Before anything is written, the preflight
 * checks that Argo CD and the Rollout can be watched, so nothing reaches the env repo that the
 * deploy could not then verify (issue 11). It runs while `write` prepares (a release clones and
 * renders meanwhile), and `write` awaits `preflighted()` before it touches the env repo. `write`
 * must itself be idempotent by the run (the Shipgate-Run trailer), for a worker that died
 * between its push and the record.
 */
export async function commitOnce(
  ctx: EngineContext,
  run: Run,
  planned: PlannedEnvironment,
  signal: AbortSignal,
  write: (
    preflighted: () => Promise<void>,
  ) => Promise<DeployCommit & { event: { message: string; data: Record<string, unknown> } }>,
): Promise<DeployCommit> {
  const env = planned.target.env;
  const commitStep = `commit:${env}`;
  const recorded = await ctx.runs.getStepResult<DeployCommit>(run.id, commitStep);
  if (recorded !== undefined) return recorded;
  const preflight = preflightDeploy(
    ctx,
    {
      application: `${planned.target.app}-${env}`,
      rollout: { namespace: planned.target.namespace, name: planned.target.app },
    },
    signal,
  ).then(() => undefined);
  // Handled here so a `write` that fails first does not leave it unhandled; awaiting it still throws.
  preflight.catch(() => undefined);
  const { event, ...commit } = await write(() => preflight);
  await ctx.runs.recordStepResult(run.id, commitStep, commit);
  await ctx.runs.appendEvent(
    run.id,
    { type: 'commit', message: event.message, data: { env, commit: commit.sha, ...event.data } },
    { eventKey: commitStep },
  );
  return commit;
}
