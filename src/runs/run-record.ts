import { z } from 'zod';
import { RunInputInvalid, RunRecordCorrupt } from '../errors.js';
import {
  ApprovalSchema,
  GatesSummarySchema,
  RUN_KINDS,
  RUN_LIMITS,
  RUN_STATES,
  type EventInput,
  type Run,
  type RunEvent,
  type RunState,
} from './run-types.js';

/**
 * Converting runs and events to and from their Redis form. A run is a hash with one field
 * per property (absent = undefined) so the Lua scripts can compare-and-set `state` and
 * `version` without decoding JSON; `gates` and `approvals` are JSON strings replaced whole.
 */

const StoredRunSchema = z.object({
  id: z.string(),
  kind: z.enum(RUN_KINDS),
  repo: z.string(),
  installationId: z.coerce.number().int(),
  sha: z.string(),
  ref: z.string(),
  tag: z.string().optional(),
  prNumber: z.coerce.number().int().optional(),
  app: z.string().optional(),
  releaser: z.string(),
  state: z.enum(RUN_STATES),
  currentEnv: z.string().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
  version: z.coerce.number().int(),
  supersededBy: z.string().optional(),
  reason: z.string().optional(),
  gates: z.string().optional(),
  approvals: z.string().optional(),
  droppedEvents: z.coerce.number().int().optional(),
});

/** Turns the flat [field, value, …] array HGETALL returns inside Lua into an object. */
export function pairsToObject(pairs: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(pairs)) return out;
  for (let i = 0; i + 1 < pairs.length; i += 2) out[String(pairs[i])] = String(pairs[i + 1]);
  return out;
}

function parseJsonField<T>(
  runId: string,
  field: string,
  raw: string | undefined,
  schema: z.ZodType<T>,
  empty: T,
): T {
  if (raw === undefined) return empty;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw RunRecordCorrupt(runId, `${field} is not JSON`, { cause: err });
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw RunRecordCorrupt(runId, `${field}: ${parsed.error.message}`);
  return parsed.data;
}

export function runFromHash(hash: Record<string, string>): Run {
  const runId = hash.id ?? '(unknown id)';
  const parsed = StoredRunSchema.safeParse(hash);
  if (!parsed.success) throw RunRecordCorrupt(runId, z.prettifyError(parsed.error));
  const { gates, approvals, ...rest } = parsed.data;
  const run: Run = {
    ...rest,
    gates: parseJsonField(runId, 'gates', gates, GatesSummarySchema, {}),
    approvals: parseJsonField(runId, 'approvals', approvals, z.array(ApprovalSchema), []),
  };
  // Keep the API shape tidy: no keys whose value is undefined.
  for (const key of Object.keys(run) as (keyof Run)[]) if (run[key] === undefined) delete run[key];
  return run;
}

/** Serialises `value` as JSON within `maxBytes`, or throws RunInputInvalid naming `what`. */
export function boundedJson(what: string, value: unknown, maxBytes: number): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw RunInputInvalid(`${what} is not JSON-serialisable`, { cause: err });
  }
  if (json === undefined) throw RunInputInvalid(`${what} is not JSON-serialisable`);
  const bytes = Buffer.byteLength(json);
  if (bytes > maxBytes) throw RunInputInvalid(`${what} is ${bytes} bytes; the limit is ${maxBytes}`);
  return json;
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

interface StoredEvent {
  at: string;
  type: string;
  message: string;
  data?: Record<string, unknown>;
  to?: RunState;
  env?: string;
  from?: RunState;
}

/**
 * The JSON object stored for one event. Event logs are for people, so oversize input is
 * cut down (message truncated, data replaced by a marker) instead of failing the caller's
 * job over a log line.
 */
export function eventToJson(
  event: EventInput,
  at: string,
  transition?: { to: RunState; env?: string },
): string {
  const stored: StoredEvent = {
    at,
    type: truncate(event.type, RUN_LIMITS.eventTypeChars),
    message: truncate(event.message, RUN_LIMITS.eventMessageChars),
  };
  if (event.data !== undefined) {
    let data: string | undefined;
    try {
      data = JSON.stringify(event.data);
    } catch {
      data = undefined;
    }
    if (data === undefined) {
      stored.data = { dropped: 'not JSON-serialisable' };
    } else if (Buffer.byteLength(data) > RUN_LIMITS.eventDataBytes) {
      stored.data = { dropped: 'too large', bytes: Buffer.byteLength(data) };
    } else {
      stored.data = JSON.parse(data) as Record<string, unknown>;
    }
  }
  if (transition) {
    stored.to = transition.to;
    if (transition.env !== undefined) stored.env = transition.env;
  }
  return JSON.stringify(stored);
}

const StoredEventSchema = z.object({
  at: z.string(),
  type: z.string(),
  message: z.string(),
  data: z.record(z.string(), z.unknown()).optional(),
  from: z.enum(RUN_STATES).optional(),
  to: z.enum(RUN_STATES).optional(),
  env: z.string().optional(),
});

export function eventFromJson(runId: string, raw: string, seq: number): RunEvent {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw RunRecordCorrupt(runId, `event ${seq} is not JSON`, { cause: err });
  }
  const parsed = StoredEventSchema.safeParse(value);
  if (!parsed.success) throw RunRecordCorrupt(runId, `event ${seq}: ${parsed.error.message}`);
  const { from, to, env, data, ...rest } = parsed.data;
  const event: RunEvent = { seq, ...rest };
  if (data !== undefined) event.data = data;
  if (from !== undefined && to !== undefined) {
    event.transition = env === undefined ? { from, to } : { from, to, env };
  }
  return event;
}
