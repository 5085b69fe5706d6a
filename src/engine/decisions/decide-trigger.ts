import type { WebhookJob } from '../../webhooks/webhook-job.js';

/**
 * What a verified GitHub delivery asks Shipgate to do. Pure: no I/O, so every trigger rule
 * (tag push + create pairs, deletions, forks, rerequests) is tested without servers.
 */
export type Trigger =
  | {
      type: 'pull-request';
      repo: string;
      installationId: number;
      cloneUrl: string;
      prNumber: number;
      headSha: string;
      headRef: string;
      baseRef: string;
      isFork: boolean;
      senderLogin: string;
      /** One run per PR head: a redelivery or a reopen at the same sha finds the same run. */
      idempotencyKey: string;
    }
  | {
      type: 'release';
      repo: string;
      installationId: number;
      cloneUrl: string;
      tag: string;
      /** Null for `create` events, which carry no sha: resolve the tag through the API. */
      sha: string | null;
      releaser: string;
      /** The same for the tag's `push` and `create` deliveries, so the pair makes one run. */
      idempotencyKey: string;
    }
  | {
      type: 'rerun-check';
      repo: string;
      installationId: number;
      checkRunId: number;
      /** Our `external_id`: `<runId>/<gate>`. */
      externalId: string;
      headSha: string;
    }
  | {
      type: 'rerun-suite';
      repo: string;
      installationId: number;
      headSha: string;
    }
  | { type: 'ignore'; reason: string };

export interface TriggerRules {
  /** True when `tag` (without `refs/tags/`) is a release tag under the platform policy. */
  isReleaseTag(tag: string): boolean;
  /** This App's id: a rerequest of another App's check run is not ours to run. */
  appId: number | undefined;
}

const PR_ACTIONS = new Set(['opened', 'synchronize', 'reopened']);

function ignore(reason: string): Trigger {
  return { type: 'ignore', reason };
}

export function releaseIdempotencyKey(repo: string, tag: string): string {
  return `release:${repo.toLowerCase()}:${tag}`;
}

export function decideTrigger(job: WebhookJob, rules: TriggerRules): Trigger {
  if (job.repo === null) return ignore(`${job.event} delivery without a repository`);
  if (job.installationId === null) return ignore(`${job.event} delivery without an App installation`);
  const repo = job.repo.fullName;
  const common = { repo, installationId: job.installationId };

  switch (job.event) {
    case 'pull_request': {
      if (!PR_ACTIONS.has(job.action ?? ''))
        return ignore(`pull_request action ${job.action} starts nothing`);
      const pr = job.pullRequest;
      return {
        type: 'pull-request',
        ...common,
        cloneUrl: job.repo.cloneUrl,
        prNumber: pr.number,
        headSha: pr.headSha,
        headRef: pr.headRef,
        baseRef: pr.baseRef,
        isFork: pr.isFork,
        senderLogin: pr.senderLogin,
        idempotencyKey: `pr:${repo.toLowerCase()}:${pr.number}:${pr.headSha}`,
      };
    }
    case 'push': {
      const { push } = job;
      if (!push.ref.startsWith('refs/tags/'))
        return ignore('branch pushes start nothing; releases come from tags');
      const tag = push.ref.slice('refs/tags/'.length);
      // A deleted tag never starts anything, whatever its name.
      if (push.deleted) return ignore(`tag ${tag} was deleted`);
      if (!push.created) return ignore(`tag ${tag} was moved, not created; releases are immutable`);
      if (!rules.isReleaseTag(tag)) return ignore(`tag ${tag} does not match the release tag pattern`);
      return {
        type: 'release',
        ...common,
        cloneUrl: job.repo.cloneUrl,
        tag,
        sha: push.after,
        releaser: job.sender?.login ?? push.pusherName,
        idempotencyKey: releaseIdempotencyKey(repo, tag),
      };
    }
    case 'create': {
      // GitHub sends no push event when more than three tags are pushed at once; `create` still comes.
      if (job.create.refType !== 'tag') return ignore('branch creation starts nothing');
      const tag = job.create.ref.replace(/^refs\/tags\//, '');
      if (!rules.isReleaseTag(tag)) return ignore(`tag ${tag} does not match the release tag pattern`);
      return {
        type: 'release',
        ...common,
        cloneUrl: job.repo.cloneUrl,
        tag,
        sha: null,
        releaser: job.sender?.login ?? 'unknown',
        idempotencyKey: releaseIdempotencyKey(repo, tag),
      };
    }
    case 'check_run': {
      if (job.action !== 'rerequested') return ignore(`check_run action ${job.action} starts nothing`);
      const check = job.checkRun;
      if (rules.appId !== undefined && check.appId !== null && check.appId !== rules.appId) {
        return ignore('check run belongs to another App');
      }
      if (check.externalId === null || !check.externalId.includes('/')) {
        return ignore('check run has no Shipgate external id');
      }
      return {
        type: 'rerun-check',
        ...common,
        checkRunId: check.id,
        externalId: check.externalId,
        headSha: check.headSha,
      };
    }
    case 'check_suite': {
      if (job.action !== 'rerequested') return ignore(`check_suite action ${job.action} starts nothing`);
      const suite = job.checkSuite;
      if (rules.appId !== undefined && suite.appId !== null && suite.appId !== rules.appId) {
        return ignore('check suite belongs to another App');
      }
      return { type: 'rerun-suite', ...common, headSha: suite.headSha };
    }
    case 'installation':
    case 'installation_repositories':
      return ignore(`${job.event} ${job.action}: installation tokens are minted on demand, nothing to do`);
  }
}
