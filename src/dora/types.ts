import { z } from 'zod';

/**
 * One deploy of one app to one environment, as the DORA history keeps it. Written once per run
 * and environment when the deploy ends; the four measures are computed from these alone.
 */
export const DeployRecordSchema = z
  .object({
    runId: z.string().max(64),
    /** `release` deploys a tag; `rollback` is a manual rollback run restoring an earlier commit. */
    runKind: z.enum(['release', 'rollback']),
    app: z.string().max(100),
    env: z.string().max(100),
    /** `succeeded`: promoted and live. `rolled-back`: a gate failed and Shipgate reverted it. */
    outcome: z.enum(['succeeded', 'rolled-back']),
    /** ISO 8601: when the deploy ended (live, or reverted). */
    at: z.iso.datetime(),
    tag: z.string().max(255).optional(),
    /** ISO 8601: the first commit of the release (GitHub compare from the previous release tag). */
    firstCommitAt: z.iso.datetime().optional(),
  })
  .strict();
export type DeployRecord = z.infer<typeof DeployRecordSchema>;

export interface DoraFigures {
  app: string;
  env: string;
  /** The window: ISO 8601 bounds and its length in days. */
  from: string;
  to: string;
  windowDays: number;
  /** Successful release deploys in the window. */
  deployments: number;
  /** `deployments / windowDays`. */
  deploymentFrequencyPerDay: number;
  /** First commit to live, over the window's successful releases whose first commit is known. */
  leadTimeSeconds: { median: number | null; count: number; values: number[] };
  /** Release deploys that failed (rolled back automatically or by hand) over all release deploys. */
  changeFailureRate: number | null;
  failedDeployments: number;
  totalDeployments: number;
  /** From a failed deploy to the next healthy deploy of the environment. */
  timeToRestoreSeconds: { median: number | null; count: number; values: number[] };
}
