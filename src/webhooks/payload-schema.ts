import { z } from 'zod';

/**
 * The parts of GitHub's webhook payloads that Shipgate reads, per event. Unknown keys are
 * dropped by the parse, so nothing else of a payload can reach the job data. Field names
 * follow GitHub's REST/webhook schema (octokit/webhooks `payload-schemas`).
 */

const user = z.object({ login: z.string(), id: z.number().int(), type: z.string() });

const repository = z.object({
  id: z.number().int(),
  name: z.string(),
  full_name: z.string(),
  private: z.boolean(),
  owner: z.object({ login: z.string() }),
  clone_url: z.string(),
  default_branch: z.string().nullish(),
});

const common = {
  action: z.string().optional(),
  installation: z.object({ id: z.number().int() }).nullish(),
  repository: repository.nullish(),
  sender: user.nullish(),
};

export const PushPayload = z.object({
  ...common,
  repository,
  ref: z.string(),
  before: z.string(),
  after: z.string(),
  created: z.boolean(),
  deleted: z.boolean(),
  forced: z.boolean(),
  pusher: z.object({ name: z.string(), email: z.string().nullish() }),
  head_commit: z.object({ message: z.string() }).nullish(),
});

export const CreatePayload = z.object({
  ...common,
  repository,
  ref: z.string(),
  ref_type: z.enum(['tag', 'branch']),
});

const prRef = z.object({
  ref: z.string(),
  sha: z.string(),
  repo: z.object({ full_name: z.string() }).nullish(),
});

export const PullRequestPayload = z.object({
  ...common,
  repository,
  action: z.string(),
  number: z.number().int(),
  pull_request: z.object({
    head: prRef,
    base: prRef.extend({ repo: z.object({ full_name: z.string() }) }),
    draft: z.boolean().optional(),
    merged: z.boolean().nullish(),
  }),
});

const app = z.object({ id: z.number().int() }).nullish();

export const CheckRunPayload = z.object({
  ...common,
  repository,
  action: z.string(),
  check_run: z.object({
    id: z.number().int(),
    name: z.string(),
    external_id: z.string().nullish(),
    head_sha: z.string(),
    app,
    check_suite: z.object({ head_branch: z.string().nullish() }).nullish(),
  }),
  requested_action: z.object({ identifier: z.string() }).nullish(),
});

export const CheckSuitePayload = z.object({
  ...common,
  repository,
  action: z.string(),
  check_suite: z.object({
    id: z.number().int(),
    head_sha: z.string(),
    head_branch: z.string().nullish(),
    app,
  }),
});

const repoRef = z.object({ full_name: z.string() });

export const InstallationPayload = z.object({
  ...common,
  action: z.string(),
  installation: z.object({
    id: z.number().int(),
    // Enterprise installations have a `slug` instead of a `login`.
    account: z
      .object({ login: z.string().optional(), slug: z.string().optional(), type: z.string().optional() })
      .nullish(),
    repository_selection: z.string().nullish(),
  }),
  repositories: z.array(repoRef).nullish(),
  repositories_added: z.array(repoRef).nullish(),
  repositories_removed: z.array(repoRef).nullish(),
  repository_selection: z.string().nullish(),
});
