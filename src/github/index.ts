export {
  createGithubApp,
  ShipgateOctokit,
  type GithubApp,
  type GithubAppOptions,
  type GithubOctokit,
  type InstallationToken,
} from './create-github-app.js';
export {
  ensureCheckRun,
  startCheckRun,
  completeCheckRun,
  getCheckRun,
  listCheckRunsForRef,
  type CheckRun,
  type CheckRunCompletion,
  type CheckRunStart,
  type CheckAnnotation,
  type CheckConclusion,
  type RepoTarget,
} from './check-runs.js';
export {
  CHECK_CONCLUSIONS,
  OUTPUT_TEXT_MAX_CHARS,
  ANNOTATIONS_PER_REQUEST,
  MAX_ANNOTATIONS,
} from './check-run-output.js';
export {
  ensureDeployment,
  setDeploymentStatus,
  listDeployments,
  latestDeploymentStatus,
  runIdOfDeployment,
  RUN_PAYLOAD_KEY,
  type DeploymentState,
} from './deployments.js';
export { readRepoFile } from './contents.js';
export { openPullRequest, getPullRequestState, type PullRequestRef, type PullRequestState } from './pulls.js';
export { toGithubError, scrubSecrets } from './github-error.js';
