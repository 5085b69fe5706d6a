/**
 * What `runDeploy` needs from the outside world. The worker wires real implementations:
 * the Argo CD client, the Kubernetes Rollout and Deployment watchers, the ZAP gate, the GitOps writer's
 * revert, GitHub deployment statuses, the run store's step-once, and Slack notifications.
 */
import type { ArgoCdClient } from '../argocd/argocd-client.js';
import type { Logger } from '../logger.js';
import type { CheckName } from './checks.js';
import type { DeploymentSource } from './watch-deployment.js';
import type { RolloutSource } from './watch-rollout.js';

/**
 * Step-once storage for one run (the run store's `claimStep`), so a retried job never repeats
 * a side effect. Keys are unique within the run; `runDeploy` prefixes them with the environment.
 */
export interface StepStore {
  /** True for exactly one caller per key, ever. */
  claim(key: string): Promise<boolean>;
  /** What `save` stored for `key`, or undefined. */
  result(key: string): Promise<unknown>;
  save(key: string, value: unknown): Promise<void>;
}

/** GitHub deployment status states. */
export type DeploymentState =
  'queued' | 'pending' | 'in_progress' | 'success' | 'failure' | 'error' | 'inactive';

/** Why a deploy is rolled back; handed to the GitOps writer for the revert commit's message. */
export interface RollbackReason {
  runId: string;
  app: string;
  environment: string;
  /** The env-repo commit that is being reverted. */
  badCommit: string;
  gate: CheckName;
  reason: string;
}

export interface DeployEventBase {
  runId: string;
  app: string;
  environment: string;
  revision: string;
}
/** What happened, without the run's identity (which `runDeploy` adds). */
export type DeployEventBody =
  | { type: 'synced' }
  | { type: 'gates-passed'; summary: string }
  | { type: 'awaiting-manual-promotion'; summary: string }
  | { type: 'needs-person'; reason: string }
  | { type: 'promoted' }
  /** Canary: a gated pause passed and the Rollout was resumed to its next step. */
  | { type: 'canary-promoted'; step: number; of: number; weight: number }
  | { type: 'succeeded'; summary: string }
  | { type: 'gate-failed'; gate: CheckName; reason: string }
  | {
      type: 'rolled-back';
      gate: CheckName;
      reason: string;
      revertCommit: string;
      revertSynced: boolean;
      aborted: boolean;
    };
export type DeployEvent = DeployEventBase & DeployEventBody;

export interface Clock {
  /** Epoch milliseconds. Read through a function so tests can move time. */
  now(): number;
}

export interface DeployPorts {
  argocd: Pick<ArgoCdClient, 'getApplication' | 'sync' | 'rolloutAction' | 'watchApplication'>;
  rolloutSource: RolloutSource;
  /** The rolling strategy's Deployment watch; without it a rolling deploy is not configured. */
  deploymentSource?: DeploymentSource | undefined;
  /** The ZAP gate against the preview Service. */
  zap(previewUrl: string, signal?: AbortSignal): Promise<{ passed: boolean; summary: string }>;
  /**
   * The GitOps writer: commit the revert of `reason.badCommit` for exactly that app and
   * environment, and push it. Must be idempotent per bad commit (a retried job may call it
   * again after a crash between the push and the step being recorded).
   */
  revert(reason: RollbackReason): Promise<{ commitSha: string }>;
  deploymentStatus(state: DeploymentState, description: string): Promise<void>;
  steps: StepStore;
  notify(event: DeployEvent): Promise<void>;
  clock: Clock;
  logger?: Logger;
}
