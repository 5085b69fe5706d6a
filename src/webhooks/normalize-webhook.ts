import type { z } from 'zod';
import { WebhookPayloadInvalid } from '../errors.js';
import {
  CheckRunPayload,
  CheckSuitePayload,
  CreatePayload,
  InstallationPayload,
  PullRequestPayload,
  PushPayload,
} from './payload-schema.js';
import { LIMITS, WEBHOOK_JOB_VERSION, type WebhookJob } from './webhook-job.js';

export interface DeliveryMeta {
  deliveryId: string;
  event: string;
  hookId: string | null;
  hookTargetId: string | null;
  receivedAt: Date;
}

function truncate(value: string, max: number): string {
  return value.length <= max ? value : value.slice(0, max - 1) + '…';
}

function parse<T extends z.ZodType>(schema: T, payload: unknown): z.infer<T> {
  const result = schema.safeParse(payload);
  if (!result.success) {
    // Name the path and the problem, never the value: the payload is only signed, not trusted.
    const issue = result.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? 'payload' : issue.path.join('.');
    throw WebhookPayloadInvalid(`${truncate(where, 100)}: ${truncate(issue?.message ?? 'invalid', 100)}`);
  }
  return result.data;
}

type Common = z.infer<typeof PushPayload>;

function repoOf(repository: Common['repository'] | null | undefined): WebhookJob['repo'] {
  if (!repository) return null;
  return {
    id: repository.id,
    fullName: truncate(repository.full_name, LIMITS.text),
    owner: truncate(repository.owner.login, LIMITS.text),
    name: truncate(repository.name, LIMITS.text),
    cloneUrl: repository.clone_url,
    defaultBranch:
      repository.default_branch == null ? null : truncate(repository.default_branch, LIMITS.text),
    private: repository.private,
  };
}

function senderOf(sender: Common['sender']): WebhookJob['sender'] {
  if (!sender) return null;
  return {
    login: truncate(sender.login, LIMITS.text),
    id: sender.id,
    type: truncate(sender.type, LIMITS.text),
  };
}

function fullNames(list: { full_name: string }[] | null | undefined): { names: string[]; cut: boolean } {
  const all = list ?? [];
  return {
    names: all.slice(0, LIMITS.repositories).map((r) => truncate(r.full_name, LIMITS.text)),
    cut: all.length > LIMITS.repositories,
  };
}

/**
 * Turns a verified delivery of a handled event into job data. Throws
 * `SHIPGATE_E_WEBHOOK_PAYLOAD_INVALID` when the payload lacks what Shipgate needs. One zod pass:
 * the payload schemas refuse out-of-bound identifiers and this function truncates free text, so
 * the job is bounded by construction (a unit test parses it with `WebhookJobSchema` to prove it).
 */
export function normalizeWebhook(meta: DeliveryMeta, payload: unknown): WebhookJob {
  const head = (p: {
    action?: string | undefined;
    installation?: { id: number } | null | undefined;
    repository?: Common['repository'] | null | undefined;
    sender?: Common['sender'] | null | undefined;
  }) => ({
    v: WEBHOOK_JOB_VERSION,
    deliveryId: meta.deliveryId,
    action: p.action === undefined ? null : truncate(p.action, LIMITS.text),
    receivedAt: meta.receivedAt.toISOString(),
    hookId: meta.hookId,
    hookTargetId: meta.hookTargetId,
    installationId: p.installation?.id ?? null,
    repo: repoOf(p.repository),
    sender: senderOf(p.sender),
  });

  let job: WebhookJob;
  switch (meta.event) {
    case 'push': {
      const p = parse(PushPayload, payload);
      job = {
        ...head(p),
        event: 'push',
        push: {
          ref: p.ref,
          before: p.before,
          after: p.after,
          created: p.created,
          deleted: p.deleted,
          forced: p.forced,
          pusherName: truncate(p.pusher.name, LIMITS.text),
          pusherEmail: p.pusher.email == null ? null : truncate(p.pusher.email, LIMITS.text),
          headCommitMessage:
            p.head_commit == null ? null : truncate(p.head_commit.message, LIMITS.commitMessage),
        },
      };
      break;
    }
    case 'create': {
      const p = parse(CreatePayload, payload);
      job = { ...head(p), event: 'create', create: { ref: p.ref, refType: p.ref_type } };
      break;
    }
    case 'pull_request': {
      const p = parse(PullRequestPayload, payload);
      const pr = p.pull_request;
      const headRepo = pr.head.repo?.full_name ?? null;
      job = {
        ...head(p),
        event: 'pull_request',
        pullRequest: {
          number: p.number,
          headSha: pr.head.sha,
          headRef: pr.head.ref,
          headRepoFullName: headRepo === null ? null : truncate(headRepo, LIMITS.text),
          baseRef: pr.base.ref,
          baseRepoFullName: truncate(pr.base.repo.full_name, LIMITS.text),
          isFork: headRepo === null || headRepo !== pr.base.repo.full_name,
          draft: pr.draft ?? false,
          merged: pr.merged ?? false,
          senderLogin: truncate(p.sender?.login ?? '', LIMITS.text),
        },
      };
      break;
    }
    case 'check_run': {
      const p = parse(CheckRunPayload, payload);
      const run = p.check_run;
      job = {
        ...head(p),
        event: 'check_run',
        checkRun: {
          id: run.id,
          name: truncate(run.name, LIMITS.text),
          externalId: run.external_id == null || run.external_id === '' ? null : run.external_id,
          headSha: run.head_sha,
          headBranch: run.check_suite?.head_branch ?? null,
          appId: run.app?.id ?? null,
          requestedActionIdentifier: p.requested_action?.identifier ?? null,
        },
      };
      break;
    }
    case 'check_suite': {
      const p = parse(CheckSuitePayload, payload);
      const suite = p.check_suite;
      job = {
        ...head(p),
        event: 'check_suite',
        checkSuite: {
          id: suite.id,
          headSha: suite.head_sha,
          headBranch: suite.head_branch ?? null,
          appId: suite.app?.id ?? null,
        },
      };
      break;
    }
    case 'installation':
    case 'installation_repositories': {
      const p = parse(InstallationPayload, payload);
      const listed = fullNames(p.repositories ?? p.repositories_added);
      const removed = fullNames(p.repositories_removed);
      const account = p.installation.account;
      job = {
        ...head(p),
        event: meta.event,
        installation: {
          accountLogin: truncate(account?.login ?? account?.slug ?? '', LIMITS.text),
          accountType: truncate(account?.type ?? '', LIMITS.text),
          repositorySelection: p.repository_selection ?? p.installation.repository_selection ?? null,
          repositories: listed.names,
          repositoriesRemoved: removed.names,
          truncated: listed.cut || removed.cut,
        },
      };
      break;
    }
    default:
      throw WebhookPayloadInvalid(`event ${truncate(meta.event, 64)} is not handled`);
  }
  return job;
}
