import { z } from 'zod';

/**
 * Schemas for everything that comes from Slack: interaction payloads (after the signature is
 * verified) and Web API responses. Unknown keys are dropped, so only what is declared here flows on.
 */

/** The `payload` form field: only `type` is read before the payload is dispatched. */
export const interactionEnvelopeSchema = z.object({ type: z.string().min(1) });

const slackId = z.string().min(1).max(64);

export const blockActionSchema = z.object({
  type: z.string().min(1).max(64),
  action_id: z.string().min(1).max(255),
  block_id: z.string().max(255).optional(),
  value: z.string().max(2000).optional(),
  action_ts: z.string().max(64).optional(),
});

/** `block_actions` (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload). */
export const blockActionsPayloadSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({
    id: slackId,
    username: z.string().max(255).optional(),
    name: z.string().max(255).optional(),
    team_id: z.string().max(64).optional(),
  }),
  team: z.object({ id: slackId, domain: z.string().optional() }).nullish(),
  api_app_id: z.string().optional(),
  container: z
    .object({
      type: z.string(),
      message_ts: z.string().optional(),
      channel_id: z.string().optional(),
      thread_ts: z.string().optional(),
    })
    .optional(),
  channel: z.object({ id: slackId, name: z.string().optional() }).optional(),
  message: z.object({ ts: z.string(), thread_ts: z.string().optional() }).optional(),
  actions: z.array(blockActionSchema).min(1).max(25),
});
export type BlockActionsPayload = z.infer<typeof blockActionsPayloadSchema>;

// ── Web API responses ───────────────────────────────────────────────────────

export const postMessageResponseSchema = z.object({
  ok: z.literal(true),
  channel: z.string(),
  ts: z.string(),
});
export const postEphemeralResponseSchema = z.object({
  ok: z.literal(true),
  message_ts: z.string().optional(),
});
export const updateResponseSchema = z.object({ ok: z.literal(true), channel: z.string(), ts: z.string() });
export const userGroupUsersResponseSchema = z.object({ ok: z.literal(true), users: z.array(z.string()) });
export const lookupByEmailResponseSchema = z.object({
  ok: z.literal(true),
  user: z.object({ id: z.string(), deleted: z.boolean().optional() }),
});

export const historyMessageSchema = z.object({
  ts: z.string(),
  thread_ts: z.string().optional(),
  metadata: z
    .object({
      event_type: z.string(),
      event_payload: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
});
export const historyResponseSchema = z.object({
  ok: z.literal(true),
  messages: z.array(historyMessageSchema),
  has_more: z.boolean().optional(),
  response_metadata: z.object({ next_cursor: z.string().optional() }).optional(),
});
