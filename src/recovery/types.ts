/**
 * What disaster recovery reads and decides. Everything here comes from outside Redis (the env
 * repo and GitHub), since it is used when Redis has lost everything.
 */

/** One app and environment the policy grants, and what the env repo says is live there. */
export interface LiveEntry {
  app: string;
  env: string;
  /** The env-repo folder. */
  path: string;
  /** The app repo the policy grants it to. */
  repo: string;
  /** `none`: nothing was ever committed there. `release`: a Shipgate release or rollback commit.
   * `revert`: Shipgate's revert after a failed rollout. `manual`: a commit without Shipgate's trailers. */
  kind: 'none' | 'release' | 'revert' | 'manual';
  commit?: string;
  committedAt?: string;
  run?: string;
  image?: string;
  sourceRepo?: string;
  sourceCommit?: string;
  approvedBy?: string[];
}

/** A Shipgate check run seen on GitHub. */
export interface ObservedCheck {
  repo: string;
  installationId: number;
  id: number;
  name: string;
  sha: string;
  /** `<runId>/<key>`, as Shipgate writes it. */
  externalId: string | undefined;
  status: string;
}

/** A Shipgate GitHub Deployment and its newest status (undefined: none yet, i.e. pending). */
export interface ObservedDeployment {
  repo: string;
  installationId: number;
  id: number;
  sha: string;
  environment: string;
  runId: string | undefined;
  latestState: string | undefined;
}

/** A run that was in flight when Redis was lost: what must be completed on GitHub. */
export interface LostRun {
  runId: string;
  repo: string;
  installationId: number;
  sha: string;
  checks: { id: number; name: string }[];
  deployments: { id: number; environment: string }[];
}
