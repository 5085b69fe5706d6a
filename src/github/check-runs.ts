import type { Octokit } from '@octokit/core';
import { callGithub, parseGithubResponse } from './github-error.js';
import { correlation, type RepoTarget } from './repo-target.js';
import { findOrCreate } from './find-or-create.js';
import { findOrCreateRetry } from './retry-policy.js';
import { retry } from '../retry/retry.js';
import { CheckRunListSchema, CheckRunSchema, type CheckRun } from './schema.js';
import {
  ANNOTATIONS_PER_REQUEST,
  chunk,
  prepareAnnotations,
  truncateOutputText,
  type CheckAnnotation,
  type CheckConclusion,
} from './check-run-output.js';

export type { CheckAnnotation, CheckConclusion } from './check-run-output.js';
export type { CheckRun } from './schema.js';
export type { RepoTarget } from './repo-target.js';

const PAGE_SIZE = 100;
/** 1,000 check runs of one name on one commit is far past any legitimate use. */
const MAX_PAGES = 10;

/** Check runs on a commit, all of them (not only the latest per name), optionally of one name. */
export async function listCheckRunsForRef(
  octokit: Octokit,
  target: RepoTarget & { ref: string; checkName?: string },
): Promise<CheckRun[]> {
  const { owner, repo, ref, checkName, deliveryId } = target;
  const op = 'GET /repos/{owner}/{repo}/commits/{ref}/check-runs';
  const runs: CheckRun[] = [];
  for (let page = 1; page <= MAX_PAGES; page++) {
    const { data } = await callGithub(op, () =>
      octokit.request(op, {
        owner,
        repo,
        ref,
        ...(checkName ? { check_name: checkName } : {}),
        filter: 'all',
        per_page: PAGE_SIZE,
        page,
        ...correlation(deliveryId),
      }),
    );
    const parsed = parseGithubResponse(op, CheckRunListSchema, data);
    runs.push(...parsed.check_runs);
    if (parsed.check_runs.length < PAGE_SIZE) break;
  }
  return runs;
}

export async function getCheckRun(
  octokit: Octokit,
  target: RepoTarget & { checkRunId: number },
): Promise<CheckRun> {
  const { owner, repo, checkRunId, deliveryId } = target;
  const op = 'GET /repos/{owner}/{repo}/check-runs/{check_run_id}';
  const { data } = await callGithub(op, () =>
    octokit.request(op, { owner, repo, check_run_id: checkRunId, ...correlation(deliveryId) }),
  );
  return parseGithubResponse(op, CheckRunSchema, data);
}

/**
 * How a check run starts its life on GitHub. Each state Shipgate can already tell at creation
 * is sent with the creating POST rather than as a PATCH after it: GitHub paces writes (see
 * create-github-app.ts), so every write saved is up to a second off a busy installation's run.
 * - `queued` (the default): created ahead of work that has not started;
 * - `in_progress`: its work starts now (`startedAt`);
 * - `completed`: its result is already known (the config check): only annotations past the
 *   first 50 need further requests, which `completeCheckRun` sends.
 */
export type CheckRunStart =
  | { status: 'queued' }
  | { status: 'in_progress'; startedAt?: Date }
  | ({ status: 'completed' } & CheckRunCompletion);

/**
 * The check run `name` with `externalId` on `headSha`, created as `start` says if it does not
 * exist yet. Safe to call again after a crash or a retried job: it never makes a second one.
 * `created` is false when it existed already; it then keeps whatever state it had.
 */
export async function ensureCheckRun(
  octokit: Octokit,
  target: RepoTarget & {
    name: string;
    headSha: string;
    externalId: string;
    detailsUrl?: string;
    start?: CheckRunStart;
  },
): Promise<{ id: number; created: boolean; htmlUrl?: string }> {
  const {
    owner,
    repo,
    name,
    headSha,
    externalId,
    detailsUrl,
    deliveryId,
    start = { status: 'queued' },
  } = target;
  const op = 'POST /repos/{owner}/{repo}/check-runs';
  const { value, created } = await findOrCreate(
    octokit,
    async () =>
      (await listCheckRunsForRef(octokit, { owner, repo, ref: headSha, checkName: name, deliveryId })).find(
        (run) => run.name === name && run.external_id === externalId && run.head_sha === headSha,
      ),
    async () => {
      const { data } = await callGithub(op, () =>
        octokit.request(op, {
          owner,
          repo,
          name,
          head_sha: headSha,
          external_id: externalId,
          ...initialState(start),
          ...(detailsUrl ? { details_url: detailsUrl } : {}),
          ...correlation(deliveryId),
          // A POST that failed may have been applied: findOrCreate looks before trying again.
          request: { retries: 0 },
        }),
      );
      return parseGithubResponse(op, CheckRunSchema, data);
    },
  );
  // The check run's own page, for links to it (the console); GitHub returns it on create and list.
  return { id: value.id, created, ...(value.html_url ? { htmlUrl: value.html_url } : {}) };
}

/** The creating POST's fields for `start`. */
function initialState(start: CheckRunStart): Record<string, unknown> {
  switch (start.status) {
    case 'queued':
      return { status: 'queued' };
    case 'in_progress':
      return { status: 'in_progress', started_at: (start.startedAt ?? new Date()).toISOString() };
    case 'completed': {
      const { output, annotations } = completionOutput(start);
      return {
        status: 'completed',
        conclusion: start.conclusion,
        completed_at: (start.completedAt ?? new Date()).toISOString(),
        output: { ...output, annotations: annotations.slice(0, ANNOTATIONS_PER_REQUEST) },
      };
    }
  }
}

/** A completion's output (texts cut to GitHub's limits) and the annotations that fit. */
function completionOutput(completion: CheckRunCompletion) {
  const { annotations, dropped } = prepareAnnotations(completion.annotations ?? []);
  const summary =
    dropped > 0
      ? `${completion.summary}\n\n_${dropped} more annotations were not attached (limit ${annotations.length})._`
      : completion.summary;
  const output = {
    title: truncateOutputText(completion.title),
    summary: truncateOutputText(summary),
    ...(completion.text !== undefined ? { text: truncateOutputText(completion.text) } : {}),
  };
  return { output, annotations, dropped };
}

/** Marks the check run `in_progress`. Repeating it is harmless. */
export async function startCheckRun(
  octokit: Octokit,
  target: RepoTarget & { checkRunId: number; startedAt?: Date },
): Promise<void> {
  const { owner, repo, checkRunId, startedAt = new Date(), deliveryId } = target;
  const op = 'PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}';
  await callGithub(op, () =>
    octokit.request(op, {
      owner,
      repo,
      check_run_id: checkRunId,
      status: 'in_progress',
      started_at: startedAt.toISOString(),
      ...correlation(deliveryId),
    }),
  );
}

export interface CheckRunCompletion {
  conclusion: CheckConclusion;
  title: string;
  /** Markdown; cut to 65,535 characters. */
  summary: string;
  /** Markdown; cut to 65,535 characters. */
  text?: string;
  annotations?: readonly CheckAnnotation[];
  completedAt?: Date;
}

/**
 * Completes a check run and attaches its annotations, 50 per request (GitHub's limit): the
 * first batch rides on the completing PATCH, later batches are further PATCHes carrying the
 * same output. GitHub appends annotations on every update, so a retried completion resumes
 * after the `annotations_count` already stored instead of sending them twice.
 */
export async function completeCheckRun(
  octokit: Octokit,
  target: RepoTarget & { checkRunId: number } & CheckRunCompletion,
): Promise<{ annotationsAttached: number; annotationsDropped: number; requests: number }> {
  const { owner, repo, checkRunId, conclusion, deliveryId, completedAt = new Date() } = target;
  const { output, annotations, dropped } = completionOutput(target);

  const op = 'PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}';
  const patch = (body: Record<string, unknown>) =>
    callGithub(op, () =>
      octokit.request(op, {
        owner,
        repo,
        check_run_id: checkRunId,
        ...body,
        ...correlation(deliveryId),
        // An update that failed may have been applied (and its annotations appended), so
        // it is not repeated blindly: the loop below re-reads the check run and resumes.
        request: { retries: 0 },
      }),
    );

  const { policy, final } = findOrCreateRetry(octokit);
  let requests = 0;
  await retry(async () => {
    const current = await final(getCheckRun(octokit, { owner, repo, checkRunId, deliveryId }));
    const alreadyCompleted = current.status === 'completed' && current.conclusion === conclusion;
    const alreadySent = alreadyCompleted ? (current.output?.annotations_count ?? 0) : 0;
    const batches = chunk(annotations.slice(alreadySent), ANNOTATIONS_PER_REQUEST);
    if (!alreadyCompleted) {
      const first = batches.shift() ?? [];
      await patch({
        status: 'completed',
        conclusion,
        completed_at: completedAt.toISOString(),
        output: { ...output, annotations: first },
      });
      requests++;
    }
    for (const batch of batches) {
      await patch({ output: { ...output, annotations: batch } });
      requests++;
    }
  }, policy);
  return { annotationsAttached: annotations.length, annotationsDropped: dropped, requests };
}
