import { z } from 'zod';

/**
 * One item of `GET /app/hook/deliveries` (GitHub REST "List deliveries for an app webhook").
 * Every attempt is its own item with its own `id`; redeliveries share the original's `guid`
 * (the `X-GitHub-Delivery` value) and have `redelivery: true`.
 */
export const HookDeliverySchema = z.object({
  id: z.number().int(),
  guid: z.string(),
  delivered_at: z.string(),
  redelivery: z.boolean(),
  duration: z.number(),
  status: z.string(),
  /** 0 when GitHub got no HTTP answer (timeout, connection refused). */
  status_code: z.number().int(),
  event: z.string(),
  action: z.string().nullable(),
  installation_id: z.number().int().nullable(),
  repository_id: z.number().int().nullable(),
});

export type HookDelivery = z.infer<typeof HookDeliverySchema>;

export const HookDeliveryListSchema = z.array(HookDeliverySchema);
