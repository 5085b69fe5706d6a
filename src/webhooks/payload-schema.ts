import { z } from 'zod';
import { LIMITS } from './webhook-job.js';

/**
 * The parts of GitHub's webhook payloads that Shipgate reads, per event. Unknown keys are
 * dropped by the parse, so nothing else of a payload can reach the job data. Field names
 * follow GitHub's REST/webhook schema (octokit/webhooks `payload-schemas`).
 */

// The bounds of the job data are enforced here, in the one validation pass at ingress: values
// that are identifiers (refs, shas, URLs, ids) are refused when out of bounds, free text is
// truncated by the normaliser. The worker parses the job with `WebhookJobSchema` again.
const ref = z.string().max(LIMITS.ref);
const sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/);
const text = z.string().max(LIMITS.text);
const id = z.number().int().nonnegative();

const user = z.object({ login: z.string(), id: id, type: z.string() });

const repository = z.object({
  id: id,
  name: z.string(),
  full_name: z.string(),
  private: z.boolean(),
  owner: z.object({ login: z.string() }),
  clone_url: z.string().max(LIMITS.url),
  default_branch: z.string().nullish(),
});

const common = {
  action: z.string().optional(),
  installation: z.object({ id: id }).nullish(),
  repository: repository.nullish(),
  sender: user.nullish(),
};

export const PushPayload = z.object({
  ...common,
  repository,
  ref,
  before: sha,
  after: sha,
  created: z.boolean(),
  deleted: z.boolean(),
  forced: z.boolean(),
  pusher: z.object({ name: z.string(), email: z.string().nullish() }),
  head_commit: z.object({ message: z.string() }).nullish(),
});

export const CreatePayload = z.object({
  ...common,
  repository,
  ref,
  ref_type: z.enum(['tag', 'branch']),
});

const prRef = z.object({
  ref,
  sha,
  repo: z.object({ full_name: z.string() }).nullish(),
});

export const PullRequestPayload = z.object({
  ...common,
  repository,
  action: z.string(),
  number: id,
  pull_request: z.object({
    head: prRef,
    base: prRef.extend({ repo: z.object({ full_name: z.string() }) }),
    draft: z.boolean().optional(),
    merged: z.boolean().nullish(),
  }),
});

const app = z.object({ id: id }).nullish();

export const CheckRunPayload = z.object({
  ...common,
  repository,
  action: z.string(),
  check_run: z.object({
    id: id,
    name: z.string(),
    external_id: text.nullish(),
    head_sha: sha,
    app,
    check_suite: z.object({ head_branch: ref.nullish() }).nullish(),
  }),
  requested_action: z.object({ identifier: text }).nullish(),
});

export const CheckSuitePayload = z.object({
  ...common,
  repository,
  action: z.string(),
  check_suite: z.object({
    id: id,
    head_sha: sha,
    head_branch: ref.nullish(),
    app,
  }),
});

const repoRef = z.object({ full_name: z.string() });

export const InstallationPayload = z.object({
  ...common,
  action: z.string(),
  installation: z.object({
    id: id,
    // Enterprise installations have a `slug` instead of a `login`.
    account: z
      .object({ login: z.string().optional(), slug: z.string().optional(), type: z.string().optional() })
      .nullish(),
    repository_selection: text.nullish(),
  }),
  repositories: z.array(repoRef).nullish(),
  repositories_added: z.array(repoRef).nullish(),
  repositories_removed: z.array(repoRef).nullish(),
  repository_selection: text.nullish(),
});
