import type { ApprovalDeps } from '../../approvals/approval-deps.js';
import type { ApprovalStore } from '../../approvals/approval-store.js';
import type { AuditLog } from '../../audit/audit-log.js';
import type { DeployHistory } from '../../dora/deploy-history.js';
import type { ArgoCdClient } from '../../argocd/argocd-client.js';
import type { Config } from '../../config.js';
import type { DeploymentSource } from '../../deploy/watch-deployment.js';
import type { RolloutSource } from '../../deploy/watch-rollout.js';
import type { Notifier } from '../../slack/notify.js';
import type { Executor } from '../../executors/executor.js';
import type { GithubApp } from '../../github/index.js';
import type { EnvRepoOptions } from '../../gitops/write-env-path.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics/create-metrics.js';
import type { DeployLock } from '../../runs/deploy-lock.js';
import type { RunStore } from '../../runs/run-store.js';
import type { PolicySource } from './env-repo.js';
import type { StageQueues } from './stage-jobs.js';

/**
 * Everything the engine's steps talk to, built once at start-up by `work`. Steps take it as a
 * parameter, so tests assemble it from real Redis, real git and stand-in servers.
 */
export interface EngineContext {
  config: Readonly<Config>;
  logger: Logger;
  runs: RunStore;
  locks: DeployLock;
  queues: StageQueues;
  github: GithubApp;
  policy: PolicySource;
  executor: Executor;
  envRepo: EnvRepoOptions;
  /** Clone URL of an app repo (no credentials); the executor asks for a token separately. */
  cloneUrlOf(repoFullName: string): string;
  /** Where gate checkouts and renders happen. */
  workDir: string;
  /** Argo CD; undefined when ARGOCD_SERVER is not set (deploys then fail with a clear error). */
  argocd: ArgoCdClient | undefined;
  /** Rollout and AnalysisRun watches through the Kubernetes API (KUBECONFIG or in-cluster). */
  rolloutSource: RolloutSource | undefined;
  /** Deployment watches (the rolling strategy), through the same Kubernetes API. */
  deploymentSource?: DeploymentSource | undefined;
  /**
   * The approval flows. Its store is the one approval store: Slack clicks, API and CLI
   * decisions all count there. Its Slack parts are absent without SLACK_BOT_TOKEN (requests are
   * then stored, not posted). Undefined only where a caller leaves approvals out altogether;
   * `approvalStore` then still holds the requests.
   */
  approvals: ApprovalDeps | undefined;
  /** The one approval store (the same object as `approvals.store`). */
  approvalStore: ApprovalStore;
  /** Release notifications in Slack; undefined without SLACK_BOT_TOKEN. */
  notifier: Notifier | undefined;
  /** Prometheus metrics of this process (gate durations, deploys, rollbacks). */
  metrics: Metrics | undefined;
  /** The append-only audit trail of decisions (src/audit); absent in tests that do not need it. */
  audit?: AuditLog | undefined;
  /** The deploy history the DORA measures come from (src/dora); absent in tests that do not need it. */
  dora?: DeployHistory | undefined;
  /** Clock, read through a function so tests can pin it. */
  now(): Date;
}

export function splitRepo(fullName: string): { owner: string; repo: string } {
  const [owner, repo] = fullName.split('/');
  if (!owner || !repo) throw new Error(`not an owner/name: ${fullName}`);
  return { owner, repo };
}
