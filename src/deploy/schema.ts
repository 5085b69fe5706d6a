/**
 * zod schemas for the Argo Rollouts objects Shipgate watches, with the field names of the
 * Rollout and AnalysisRun CRDs (argoproj/argo-rollouts manifests/crds), and the Deployment
 * (apps/v1) the rolling strategy watches. Only what the
 * evaluators read is declared; the rest passes through. Fields are lenient where real
 * clusters are: older controllers write no `status.phase`, `observedGeneration` may be a
 * legacy hash, and hand-made objects carry `conditions: {}`.
 */
import { z } from 'zod';

const ConditionSchema = z.looseObject({
  type: z.string(),
  status: z.string().optional(),
  reason: z.string().optional(),
  message: z.string().optional(),
  lastTransitionTime: z.string().optional(),
});

const AnalysisRunStatusRefSchema = z.looseObject({
  name: z.string(),
  status: z.string(),
  message: z.string().optional(),
});

const OwnerReferenceSchema = z.looseObject({
  kind: z.string(),
  name: z.string(),
  uid: z.string().optional(),
  controller: z.boolean().optional(),
});

const MetadataSchema = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  ownerReferences: z.array(OwnerReferenceSchema).optional(),
});

export const RolloutSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: MetadataSchema,
  spec: z
    .looseObject({
      paused: z.boolean().optional(),
      progressDeadlineSeconds: z.number().optional(),
      progressDeadlineAbort: z.boolean().optional(),
      strategy: z
        .looseObject({
          blueGreen: z
            .looseObject({
              activeService: z.string().optional(),
              previewService: z.string().optional(),
              autoPromotionEnabled: z.boolean().optional(),
              prePromotionAnalysis: z.looseObject({}).optional(),
              postPromotionAnalysis: z.looseObject({}).optional(),
            })
            .optional(),
          canary: z.looseObject({}).optional(),
        })
        .optional(),
    })
    .optional(),
  status: z
    .looseObject({
      phase: z.string().optional(),
      message: z.string().optional(),
      abort: z.boolean().optional(),
      abortedAt: z.string().optional(),
      controllerPause: z.boolean().optional(),
      pauseConditions: z
        .array(z.looseObject({ reason: z.string(), startTime: z.string().optional() }))
        .optional(),
      // `conditions: {}` appears in hand-made objects (argo-cd's degraded testdata); treat as none.
      conditions: z
        .union([z.array(ConditionSchema), z.looseObject({})])
        .optional()
        .transform((c) => (Array.isArray(c) ? c : [])),
      currentPodHash: z.string().optional(),
      stableRS: z.string().optional(),
      observedGeneration: z.union([z.string(), z.number()]).optional(),
      replicas: z.number().optional(),
      updatedReplicas: z.number().optional(),
      readyReplicas: z.number().optional(),
      availableReplicas: z.number().optional(),
      blueGreen: z
        .looseObject({
          activeSelector: z.string().optional(),
          previewSelector: z.string().optional(),
          prePromotionAnalysisRunStatus: AnalysisRunStatusRefSchema.optional(),
          postPromotionAnalysisRunStatus: AnalysisRunStatusRefSchema.optional(),
        })
        .optional(),
      canary: z
        .looseObject({
          currentBackgroundAnalysisRunStatus: AnalysisRunStatusRefSchema.optional(),
          currentStepAnalysisRunStatus: AnalysisRunStatusRefSchema.optional(),
        })
        .optional(),
    })
    .optional(),
});
export type Rollout = z.infer<typeof RolloutSchema>;

const MeasurementSchema = z.looseObject({
  phase: z.string(),
  value: z.string().optional(),
  message: z.string().optional(),
  finishedAt: z.string().optional(),
});

export const AnalysisRunSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: MetadataSchema,
  spec: z.looseObject({}).optional(),
  status: z
    .looseObject({
      phase: z.string().optional(),
      message: z.string().optional(),
      startedAt: z.string().optional(),
      metricResults: z
        .array(
          z.looseObject({
            name: z.string(),
            phase: z.string(),
            message: z.string().optional(),
            count: z.number().optional(),
            failed: z.number().optional(),
            error: z.number().optional(),
            inconclusive: z.number().optional(),
            successful: z.number().optional(),
            measurements: z.array(MeasurementSchema).optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});
export type AnalysisRun = z.infer<typeof AnalysisRunSchema>;

/**
 * A plain Kubernetes Deployment (apps/v1), for the rolling strategy: what the Deployment
 * controller writes to say how far a rollout got (the same fields `kubectl rollout status`
 * and Argo CD's Deployment health read).
 */
export const DeploymentSchema = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: MetadataSchema,
  spec: z
    .looseObject({
      /** @defaultValue 1 (the API server's default) */
      replicas: z.number().optional(),
      paused: z.boolean().optional(),
      /** @defaultValue 600 (the API server's default) */
      progressDeadlineSeconds: z.number().optional(),
    })
    .optional(),
  status: z
    .looseObject({
      observedGeneration: z.number().optional(),
      replicas: z.number().optional(),
      updatedReplicas: z.number().optional(),
      readyReplicas: z.number().optional(),
      availableReplicas: z.number().optional(),
      unavailableReplicas: z.number().optional(),
      conditions: z
        .union([z.array(ConditionSchema), z.looseObject({})])
        .optional()
        .transform((c) => (Array.isArray(c) ? c : [])),
    })
    .optional(),
});
export type Deployment = z.infer<typeof DeploymentSchema>;
