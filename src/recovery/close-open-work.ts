import {
  completeCheckRun,
  latestDeploymentStatus,
  listDeployments,
  runIdOfDeployment,
  setDeploymentStatus,
  type GithubOctokit,
} from '../github/index.js';
import { OPEN_DEPLOYMENT_STATES } from './open-states.js';

/**
 * Completes, with `explanation`, the GitHub Deployments of `sha` that still look in flight, and
 * that `belongs` claims (by the run id in their payload). `error`, not `failure`: nothing was
 * judged, Shipgate lost track. Returns the ids it completed; repeating finds none.
 */
export async function closeOpenDeployments(
  octokit: GithubOctokit,
  target: { owner: string; repo: string; sha: string },
  belongs: (runId: string) => boolean,
  explanation: string,
): Promise<number[]> {
  const closed: number[] = [];
  for (const deployment of await listDeployments(octokit, target)) {
    const runId = runIdOfDeployment(deployment);
    if (runId === undefined || !belongs(runId)) continue;
    const latest = await latestDeploymentStatus(octokit, { ...target, deploymentId: deployment.id });
    if (latest !== undefined && !OPEN_DEPLOYMENT_STATES.includes(latest.state)) continue;
    await setDeploymentStatus(octokit, {
      ...target,
      deploymentId: deployment.id,
      state: 'error',
      description: explanation,
      autoInactive: false,
    });
    closed.push(deployment.id);
  }
  return closed;
}

/** Completes one check run as `cancelled` with `explanation` (title and summary). */
export async function cancelCheckRun(
  octokit: GithubOctokit,
  target: { owner: string; repo: string; checkRunId: number },
  title: string,
  explanation: string,
): Promise<void> {
  await completeCheckRun(octokit, {
    ...target,
    conclusion: 'cancelled',
    title,
    summary: explanation,
    annotations: [],
  });
}
