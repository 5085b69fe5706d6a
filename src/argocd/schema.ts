/**
 * zod schemas for the parts of Argo CD's API that Shipgate reads and sends. Names follow
 * the definitions in Argo CD's `assets/swagger.json` (v1alpha1Application,
 * applicationApplicationSyncRequest, applicationResourceActionRunRequestV2, runtimeError).
 * Only the fields Shipgate uses are declared; everything else passes through untouched,
 * so a newer Argo CD that adds fields never breaks the parse.
 */
import { z } from 'zod';

/** v1alpha1Info: free-form name/value pairs attached to an operation (shown in the UI). */
export const InfoSchema = z.looseObject({ name: z.string(), value: z.string() });
export type Info = z.infer<typeof InfoSchema>;

const SyncOperationSchema = z.looseObject({
  revision: z.string().optional(),
  revisions: z.array(z.string()).optional(),
  prune: z.boolean().optional(),
});

/** v1alpha1Operation: the operation requested on `.operation` (cleared when it starts). */
export const OperationSchema = z.looseObject({
  info: z.array(InfoSchema).optional(),
  initiatedBy: z
    .looseObject({ username: z.string().optional(), automated: z.boolean().optional() })
    .optional(),
  sync: SyncOperationSchema.optional(),
});

/** v1alpha1OperationState.phase: Running, Terminating, Failed, Error, Succeeded. */
export const OperationStateSchema = z.looseObject({
  phase: z.string(),
  message: z.string().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  operation: OperationSchema.optional(),
  syncResult: z
    .looseObject({ revision: z.string().optional(), revisions: z.array(z.string()).optional() })
    .optional(),
});
export type OperationState = z.infer<typeof OperationStateSchema>;

export const ApplicationSchema = z.looseObject({
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string().optional(),
    resourceVersion: z.string().optional(),
  }),
  spec: z
    .looseObject({
      project: z.string().optional(),
      syncPolicy: z.looseObject({ automated: z.looseObject({}).nullish() }).nullish(),
    })
    .optional(),
  operation: OperationSchema.nullish(),
  status: z
    .looseObject({
      sync: z
        .looseObject({
          status: z.string().optional(),
          revision: z.string().optional(),
          revisions: z.array(z.string()).optional(),
        })
        .optional(),
      health: z.looseObject({ status: z.string().optional(), message: z.string().optional() }).optional(),
      operationState: OperationStateSchema.nullish(),
      conditions: z.array(z.looseObject({ type: z.string(), message: z.string().optional() })).nullish(),
      reconciledAt: z.string().optional(),
    })
    .optional(),
});
export type Application = z.infer<typeof ApplicationSchema>;

/** applicationApplicationSyncRequest (the fields Shipgate sends). */
export const SyncRequestSchema = z.object({
  name: z.string(),
  revision: z.string(),
  prune: z.boolean(),
  infos: z.array(InfoSchema),
  appNamespace: z.string().optional(),
  project: z.string().optional(),
});
export type SyncRequest = z.infer<typeof SyncRequestSchema>;

/** The Rollout actions Argo CD ships in resource_customizations/argoproj.io/Rollout/actions. */
export const ROLLOUT_ACTIONS = ['resume', 'abort', 'retry', 'promote-full'] as const;
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

/** applicationResourceActionRunRequestV2. */
export const ResourceActionRequestSchema = z.object({
  name: z.string(),
  namespace: z.string(),
  resourceName: z.string(),
  version: z.string(),
  group: z.string(),
  kind: z.string(),
  action: z.string(),
  appNamespace: z.string().optional(),
  project: z.string().optional(),
  resourceActionParameters: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
});
export type ResourceActionRequest = z.infer<typeof ResourceActionRequestSchema>;

/** runtimeError: what grpc-gateway answers for every non-2xx. */
export const RuntimeErrorSchema = z.looseObject({
  code: z.number().optional(),
  error: z.string().optional(),
  message: z.string().optional(),
});
