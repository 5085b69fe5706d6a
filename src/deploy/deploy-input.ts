/** The deploy job's input: it crosses the queue boundary, so it is parsed, never trusted. */
import { z } from 'zod';
import { DeployInputInvalid } from '../errors.js';
import { DEPLOY_STRATEGIES } from './strategies.js';

const name = z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a Kubernetes name');
const sha = z.string().regex(/^[0-9a-f]{7,64}$/, 'must be a git commit sha');

export const DeployInputSchema = z.object({
  runId: z.string().min(1),
  app: z.string().min(1),
  environment: z.string().min(1),
  /** The env-repo commit that Argo CD must sync to. */
  revision: sha,
  /** The app repo commit being released (shown in Argo CD's operation info). */
  sourceCommit: z.string().min(1),
  argocd: z.object({
    application: name,
    appNamespace: name.optional(),
    project: name.optional(),
    /** @defaultValue false */
    prune: z.boolean().default(false),
  }),
  /**
   * The workload the deploy watches: the Argo Rollout (blueGreen, canary) or, for `rolling`,
   * the plain Deployment of that name. (The field keeps its name: it is queued job data.)
   */
  rollout: z.object({ namespace: name, name }),
  /** How the environment rolls out (`.shipgate.yml`, bounded by the policy). @defaultValue 'blueGreen' */
  strategy: z.enum(DEPLOY_STRATEGIES).default('blueGreen'),
  /** Canary only: the Rollout's `spec.strategy.canary.steps`, as committed. */
  canary: z
    .object({
      steps: z.array(z.looseObject({})).max(100),
      /** ZAP's target during every pause: the canary Service. */
      serviceUrl: z.url({ protocol: /^https?$/ }).optional(),
      /** From one pause to the next. @defaultValue 600 */
      stepDeadlineSeconds: z.number().int().positive().default(600),
    })
    .optional(),
  /** ZAP's target: the preview Service as Shipgate's gate runner reaches it. */
  previewUrl: z.url({ protocol: /^https?$/ }).optional(),
  /** `auto`: Shipgate resumes the Rollout once every gate passes. `manual`: a person promotes. */
  promotion: z.enum(['auto', 'manual']).default('auto'),
  /** What an Inconclusive AnalysisRun does. @defaultValue 'fail' */
  inconclusive: z.enum(['wait', 'fail']).default('fail'),
  /** From the start of the deploy to a Healthy Rollout. @defaultValue 900 */
  progressDeadlineSeconds: z.number().int().positive().default(900),
  /** For Argo CD to report the sync of a revision as finished. @defaultValue 300 */
  syncTimeoutSeconds: z.number().int().positive().default(300),
});
export type DeployInput = z.input<typeof DeployInputSchema>;
export type ParsedDeployInput = z.output<typeof DeployInputSchema>;

export function parseDeployInput(raw: unknown): ParsedDeployInput {
  const result = DeployInputSchema.refine((i) => i.strategy !== 'canary' || i.canary !== undefined, {
    message: 'a canary deploy needs the Rollout canary steps',
    path: ['canary'],
  }).safeParse(raw);
  if (!result.success) {
    throw DeployInputInvalid(result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  return result.data;
}
