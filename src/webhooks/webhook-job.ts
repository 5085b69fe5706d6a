import { z } from 'zod';
import { TRACEPARENT_PATTERN } from '../telemetry/trace-context.js';

/**
 * The data of a job on the `webhook` queue: a bounded, normalised, secret-free subset of a
 * verified GitHub delivery. BullMQ stores job data in clear text, so nothing here may be a
 * credential, and every string and list has a bound so a hostile but validly-signed payload
 * cannot bloat Redis. Consumers parse with `WebhookJobSchema` and narrow on `event`.
 */

/** Bumped when the shape changes incompatibly, so workers can refuse jobs they cannot read. */
export const WEBHOOK_JOB_VERSION = 1 as const;

/** Free-text bounds; longer values are truncated by the normaliser (identifiers never are). */
export const LIMITS = {
  text: 256,
  commitMessage: 1024,
  ref: 1024,
  url: 2048,
  repositories: 100,
} as const;

const text = z.string().max(LIMITS.text);
const ref = z.string().max(LIMITS.ref);
const sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/);
const id = z.number().int().nonnegative();

export const RepoSchema = z.object({
  id,
  fullName: text,
  owner: text,
  name: text,
  cloneUrl: z.string().max(LIMITS.url),
  defaultBranch: text.nullable(),
  private: z.boolean(),
});

export const SenderSchema = z.object({ login: text, id, type: text });

const base = {
  v: z.literal(WEBHOOK_JOB_VERSION),
  deliveryId: z.string().max(64),
  action: text.nullable(),
  /** ISO 8601, when Shipgate accepted the delivery. */
  receivedAt: z.iso.datetime(),
  /** `X-GitHub-Hook-ID` / `X-GitHub-Hook-Installation-Target-ID`: which hook and App sent it. */
  hookId: text.nullable(),
  hookTargetId: text.nullable(),
  /** Null on deliveries that do not come through an App installation. */
  installationId: id.nullable(),
  repo: RepoSchema.nullable(),
  sender: SenderSchema.nullable(),
  /** W3C trace context of the webhook request (src/telemetry); absent when tracing is off. */
  traceparent: z.string().regex(TRACEPARENT_PATTERN).optional(),
};

export const PushSchema = z.object({
  ref,
  before: sha,
  after: sha,
  created: z.boolean(),
  deleted: z.boolean(),
  forced: z.boolean(),
  pusherName: text,
  pusherEmail: text.nullable(),
  /** Truncated to `LIMITS.commitMessage` characters. */
  headCommitMessage: z.string().max(LIMITS.commitMessage).nullable(),
});

export const CreateSchema = z.object({ ref, refType: z.enum(['tag', 'branch']) });

export const PullRequestSchema = z.object({
  number: id,
  headSha: sha,
  headRef: ref,
  /** Null when the fork the PR came from was deleted. */
  headRepoFullName: text.nullable(),
  baseRef: ref,
  baseRepoFullName: text,
  /** Head repo differs from the base repo (or is gone): run no code by default. */
  isFork: z.boolean(),
  draft: z.boolean(),
  merged: z.boolean(),
  senderLogin: text,
});

export const CheckRunSchema = z.object({
  id,
  name: text,
  externalId: text.nullable(),
  headSha: sha,
  headBranch: ref.nullable(),
  /** The App that owns the check run: only our own are worth re-running. */
  appId: id.nullable(),
  /** `requested_action` only: the identifier of the button that was pressed. */
  requestedActionIdentifier: text.nullable(),
});

export const CheckSuiteSchema = z.object({
  id,
  headSha: sha,
  headBranch: ref.nullable(),
  appId: id.nullable(),
});

export const InstallationSchema = z.object({
  accountLogin: text,
  accountType: text,
  repositorySelection: text.nullable(),
  /** Full names the action concerns (`repositories` or `repositories_added`), at most 100. */
  repositories: z.array(text).max(LIMITS.repositories),
  repositoriesRemoved: z.array(text).max(LIMITS.repositories),
  /** True when either list was cut at `LIMITS.repositories`. */
  truncated: z.boolean(),
});

export const WebhookJobSchema = z.discriminatedUnion('event', [
  z.object({ ...base, event: z.literal('push'), push: PushSchema }),
  z.object({ ...base, event: z.literal('create'), create: CreateSchema }),
  z.object({ ...base, event: z.literal('pull_request'), pullRequest: PullRequestSchema }),
  z.object({ ...base, event: z.literal('check_run'), checkRun: CheckRunSchema }),
  z.object({ ...base, event: z.literal('check_suite'), checkSuite: CheckSuiteSchema }),
  z.object({
    ...base,
    event: z.enum(['installation', 'installation_repositories']),
    installation: InstallationSchema,
  }),
]);

export type WebhookJob = z.infer<typeof WebhookJobSchema>;
export type WebhookJobEvent = WebhookJob['event'];
export type WebhookRepo = z.infer<typeof RepoSchema>;

/** Job name on the `webhook` queue (BullMQ job names are free text; the event says what it is). */
export const WEBHOOK_JOB_NAME = 'github-delivery';
