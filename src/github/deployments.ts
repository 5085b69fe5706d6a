import type { Octokit } from '@octokit/core';
import { z } from 'zod';
import { callGithub, parseGithubResponse } from './github-error.js';
import { findOrCreate } from './find-or-create.js';
import { correlation, type RepoTarget } from './repo-target.js';
import { DeploymentSchema, DeploymentStatusSchema, type Deployment } from './schema.js';

/** The deployment payload key that ties a GitHub Deployment to one Shipgate run. */
export const RUN_PAYLOAD_KEY = 'shipgate_run';
/** GitHub refuses deployment status descriptions longer than this. */
const STATUS_DESCRIPTION_MAX_CHARS = 140;

export type DeploymentState = 'queued' | 'in_progress' | 'success' | 'failure' | 'inactive' | 'error';

/** The Shipgate run a deployment belongs to (its payload), or undefined for anyone else's. */
export function runIdOfDeployment(deployment: Deployment): string | undefined {
  const run = runOf(deployment);
  return typeof run === 'string' ? run : undefined;
}

function runOf(deployment: Deployment): unknown {
  let payload = deployment.payload;
  if (typeof payload === 'string') {
    try {
      payload = JSON.parse(payload) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
  return payload && typeof payload === 'object' ? payload[RUN_PAYLOAD_KEY] : undefined;
}

export async function listDeployments(
  octokit: Octokit,
  target: RepoTarget & { sha?: string; environment?: string },
): Promise<Deployment[]> {
  const { owner, repo, sha, environment, deliveryId } = target;
  const op = 'GET /repos/{owner}/{repo}/deployments';
  const { data } = await callGithub(op, () =>
    octokit.request(op, {
      owner,
      repo,
      ...(sha ? { sha } : {}),
      ...(environment ? { environment } : {}),
      per_page: 100,
      ...correlation(deliveryId),
    }),
  );
  return parseGithubResponse(op, z.array(DeploymentSchema), data);
}

/**
 * The GitHub Deployment of run `runId` to `environment` at `ref` (a commit sha), created if
 * missing. GitHub has no idempotency key, so the run id rides in the payload and is looked
 * up before any create. No auto-merge and no required contexts: Shipgate has already gated
 * the commit, and GitHub must not merge branches on its own.
 */
export async function ensureDeployment(
  octokit: Octokit,
  target: RepoTarget & {
    ref: string;
    environment: string;
    runId: string;
    description: string;
    /** GitHub marks it inactive when a newer deployment to the same environment succeeds. @defaultValue false */
    transientEnvironment?: boolean;
    /** @defaultValue false */
    productionEnvironment?: boolean;
  },
): Promise<{ id: number; created: boolean }> {
  const { owner, repo, ref, environment, runId, description, deliveryId } = target;
  const op = 'POST /repos/{owner}/{repo}/deployments';
  const { value, created } = await findOrCreate(
    octokit,
    async () =>
      (await listDeployments(octokit, { owner, repo, sha: ref, environment, deliveryId })).find(
        (d) => runOf(d) === runId && d.environment === environment,
      ),
    async () => {
      const response = await callGithub(op, () =>
        octokit.request(op, {
          owner,
          repo,
          ref,
          environment,
          description,
          task: 'deploy',
          auto_merge: false,
          required_contexts: [],
          payload: { [RUN_PAYLOAD_KEY]: runId },
          transient_environment: target.transientEnvironment ?? false,
          production_environment: target.productionEnvironment ?? false,
          ...correlation(deliveryId),
          request: { retries: 0 },
        }),
      );
      return parseGithubResponse(op, DeploymentSchema, response.data);
    },
  );
  return { id: value.id, created };
}

/** The newest status of a deployment, or undefined when it has none yet (GitHub: pending). */
export async function latestDeploymentStatus(
  octokit: Octokit,
  target: RepoTarget & { deploymentId: number },
): Promise<{ state: string; description: string } | undefined> {
  const { owner, repo, deploymentId, deliveryId } = target;
  const op = 'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses';
  const { data } = await callGithub(op, () =>
    octokit.request(op, {
      owner,
      repo,
      deployment_id: deploymentId,
      per_page: 1,
      ...correlation(deliveryId),
    }),
  );
  // GitHub lists statuses newest first.
  const [latest] = parseGithubResponse(op, z.array(DeploymentStatusSchema), data);
  return latest ? { state: latest.state, description: latest.description ?? '' } : undefined;
}

/**
 * Adds a status to a deployment unless the newest status already has this state and
 * description, so a retried job does not stack duplicate entries on the Environments page.
 */
export async function setDeploymentStatus(
  octokit: Octokit,
  target: RepoTarget & {
    deploymentId: number;
    state: DeploymentState;
    description: string;
    /** Where the run's log is: Shipgate's run page. */
    logUrl?: string;
    /** The environment's URL, shown as "View deployment". */
    environmentUrl?: string;
    /** Mark earlier successful deployments to this environment inactive. GitHub's default is true. */
    autoInactive?: boolean;
  },
): Promise<{ id: number; created: boolean }> {
  const { owner, repo, deploymentId, state, deliveryId } = target;
  const description = target.description.slice(0, STATUS_DESCRIPTION_MAX_CHARS);
  const listOp = 'GET /repos/{owner}/{repo}/deployments/{deployment_id}/statuses';
  const op = 'POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses';
  const { value, created } = await findOrCreate(
    octokit,
    async () => {
      const { data } = await callGithub(listOp, () =>
        octokit.request(listOp, {
          owner,
          repo,
          deployment_id: deploymentId,
          per_page: 1,
          ...correlation(deliveryId),
        }),
      );
      // GitHub lists statuses newest first.
      const [latest] = parseGithubResponse(listOp, z.array(DeploymentStatusSchema), data);
      return latest && latest.state === state && (latest.description ?? '') === description
        ? latest
        : undefined;
    },
    async () => {
      const { data } = await callGithub(op, () =>
        octokit.request(op, {
          owner,
          repo,
          deployment_id: deploymentId,
          state,
          description,
          ...(target.logUrl ? { log_url: target.logUrl } : {}),
          ...(target.environmentUrl ? { environment_url: target.environmentUrl } : {}),
          ...(target.autoInactive !== undefined ? { auto_inactive: target.autoInactive } : {}),
          ...correlation(deliveryId),
          request: { retries: 0 },
        }),
      );
      return parseGithubResponse(op, DeploymentStatusSchema, data);
    },
  );
  return { id: value.id, created };
}
