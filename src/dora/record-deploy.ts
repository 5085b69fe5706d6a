import type { Logger } from '../logger.js';
import type { DeployHistory } from './deploy-history.js';
import { firstCommitTime, type CompareRequest } from './first-commit-time.js';

export interface DeployOutcome {
  runId: string;
  runKind: 'release' | 'rollback';
  /** `owner/name` of the app repo. */
  repo: string;
  app: string;
  env: string;
  tag?: string | undefined;
  outcome: 'succeeded' | 'rolled-back';
  at: Date;
}

export interface RecordDeployDeps {
  history: DeployHistory;
  /** GitHub's compare API for the app repo's installation. */
  compare: () => Promise<CompareRequest>;
  logger: Logger;
}

/**
 * Adds a finished deploy to the DORA history, with the release's first-commit time for the
 * lead time. Never throws: the deploy already happened, and a GitHub or Redis hiccup here must
 * not fail or repeat it; the miss is logged (the lead time is then unknown for that release).
 */
export async function recordDeployForDora(deps: RecordDeployDeps, d: DeployOutcome): Promise<void> {
  try {
    let firstCommitAt: Date | undefined;
    if (d.runKind === 'release' && d.outcome === 'succeeded' && d.tag !== undefined) {
      const [owner, repo] = d.repo.split('/') as [string, string];
      const previous = await deps.history.previousReleaseTag(d.app, d.env, d.tag);
      firstCommitAt = await firstCommitTime(await deps.compare(), { owner, repo }, previous, d.tag).catch(
        (err: unknown) => {
          deps.logger.warn({ err, tag: d.tag, previous }, 'DORA: compare failed; lead time unknown');
          return undefined;
        },
      );
    }
    await deps.history.record({
      runId: d.runId,
      runKind: d.runKind,
      app: d.app,
      env: d.env,
      outcome: d.outcome,
      at: d.at.toISOString(),
      ...(d.tag !== undefined ? { tag: d.tag } : {}),
      ...(firstCommitAt !== undefined ? { firstCommitAt: firstCommitAt.toISOString() } : {}),
    });
  } catch (err) {
    deps.logger.warn({ err, runId: d.runId, env: d.env }, 'DORA: could not record the deploy');
  }
}
