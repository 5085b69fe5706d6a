import { z } from 'zod';

/** The few fields Shipgate reads from GitHub's REST answers; everything else is ignored. */

export const CheckRunSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  head_sha: z.string(),
  external_id: z.string().nullable().optional(),
  status: z.string(),
  conclusion: z.string().nullable().optional(),
  html_url: z.string().nullable().optional(),
  output: z
    .object({
      title: z.string().nullable().optional(),
      summary: z.string().nullable().optional(),
      annotations_count: z.number().int().optional(),
    })
    .optional(),
});
export type CheckRun = z.infer<typeof CheckRunSchema>;

export const CheckRunListSchema = z.object({
  total_count: z.number().int(),
  check_runs: z.array(CheckRunSchema),
});

export const DeploymentSchema = z.object({
  id: z.number().int(),
  sha: z.string(),
  ref: z.string(),
  environment: z.string(),
  // GitHub stores whatever JSON the creator sent (object or string).
  payload: z
    .union([z.record(z.string(), z.unknown()), z.string()])
    .nullable()
    .optional(),
});
export type Deployment = z.infer<typeof DeploymentSchema>;

export const DeploymentStatusSchema = z.object({
  id: z.number().int(),
  state: z.string(),
  description: z.string().nullable().optional(),
});

export const ContentFileSchema = z.object({
  type: z.literal('file'),
  path: z.string(),
  size: z.number().int().nonnegative(),
  sha: z.string(),
  // "base64" normally; "none" with empty content for files between 1 and 100 MB.
  encoding: z.string().optional(),
  content: z.string().optional(),
});

export const ContentEntrySchema = z.object({ type: z.string(), path: z.string() });

export const PullRequestSchema = z.object({
  number: z.number().int(),
  state: z.enum(['open', 'closed']),
  html_url: z.string(),
  merged: z.boolean().optional(),
  merged_at: z.string().nullable().optional(),
  merge_commit_sha: z.string().nullable().optional(),
  head: z.object({ ref: z.string(), sha: z.string() }),
  base: z.object({ ref: z.string() }),
});
export type PullRequest = z.infer<typeof PullRequestSchema>;
