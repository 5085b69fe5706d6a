import {
  ErrorCode,
  LogLevel,
  WebClient,
  type Logger as SlackLogger,
  type RetryOptions,
} from '@slack/web-api';
import type { z } from 'zod';
import { SlackApiRejected, SlackApiUnavailable, type ShipgateError } from '../errors.js';
import type { Logger } from '../logger.js';
import { retry } from '../retry/retry.js';
import { untilAborted } from '../retry/until-aborted.js';
import {
  historyResponseSchema,
  lookupByEmailResponseSchema,
  postEphemeralResponseSchema,
  postMessageResponseSchema,
  updateResponseSchema,
  userGroupUsersResponseSchema,
} from './schema.js';

/**
 * The Slack Web API, and nothing else: no Redis, no decisions. Built on the real `WebClient`, which
 * honours 429 `Retry-After` itself; this wrapper adds a deadline per call, parses every answer with
 * zod and turns failures into catalogue errors that say whether a retry can help.
 */

export interface SlackClientOptions {
  /** Bot token (`xoxb-…`). Only ever sent in the Authorization header. */
  token: string;
  /** `config.slack.apiUrl`, e.g. `https://slack.com/api` or a local stand-in. */
  apiUrl: string;
  logger: Logger;
  /** Deadline for one call, including WebClient's own retries and Retry-After waits. @defaultValue 30_000 */
  callTimeoutMs?: number;
  /** Timeout of one HTTP attempt. @defaultValue 10_000 */
  requestTimeoutMs?: number;
  /** Retries for calls that are safe to repeat. @defaultValue 3 retries, 0.5 s doubling to 5 s, jittered */
  retryConfig?: RetryOptions;
  /** How many 429s `chat.postMessage` waits out (Retry-After) before failing. @defaultValue 3 */
  maxRateLimitWaits?: number;
}

export interface SlackMessageMetadata {
  event_type: string;
  event_payload: Record<string, string | number | boolean>;
}

export interface SlackMessage {
  /** Fallback text for notifications and screen readers; always set. */
  text: string;
  blocks?: readonly unknown[];
  thread_ts?: string;
  reply_broadcast?: boolean;
  metadata?: SlackMessageMetadata;
}

export interface FindMessageQuery {
  channel: string;
  /** Search this thread's replies instead of the channel's top-level history. */
  threadTs?: string;
  /** Only messages newer than this. */
  oldest?: Date;
  eventType: string;
  match: (payload: Record<string, unknown>) => boolean;
}

export interface SlackClient {
  postMessage(channel: string, message: SlackMessage): Promise<{ channel: string; ts: string }>;
  updateMessage(
    channel: string,
    ts: string,
    message: Omit<SlackMessage, 'thread_ts' | 'reply_broadcast'>,
  ): Promise<void>;
  postEphemeral(
    channel: string,
    user: string,
    message: { text: string; blocks?: readonly unknown[]; thread_ts?: string },
  ): Promise<void>;
  /** Member ids of a user group (`usergroups.users.list`). */
  listUserGroupMembers(userGroupId: string): Promise<string[]>;
  /** Slack user id for an email, or `undefined` when no user has it (`users.lookupByEmail`). */
  lookupUserByEmail(email: string): Promise<string | undefined>;
  /** `ts` of the newest message carrying matching Shipgate metadata (`conversations.history`/`replies`). */
  findMessageByMetadata(query: FindMessageQuery): Promise<string | undefined>;
}

/** Platform errors that mean "later": everything else is a request Slack will keep refusing. */
const TRANSIENT_PLATFORM_ERRORS = new Set([
  'ratelimited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
]);

const DEFAULT_RETRY: RetryOptions = {
  retries: 3,
  factor: 2,
  minTimeout: 500,
  maxTimeout: 5_000,
  randomize: true,
};

export function createSlackClient(options: SlackClientOptions): SlackClient {
  const callTimeoutMs = options.callTimeoutMs ?? 30_000;
  const log = options.logger.child({ component: 'slack-client' });
  const common = {
    slackApiUrl: `${options.apiUrl.replace(/\/+$/, '')}/`,
    timeout: options.requestTimeoutMs ?? 10_000,
    logger: pinoAdapter(log),
    logLevel: LogLevel.INFO,
    // The original axios error carries the request config, Authorization header included.
    attachOriginalToWebAPIRequestError: false,
    // Method names are never URLs here; keep every request on the configured host.
    allowAbsoluteUrls: false,
  };
  // Idempotent calls (updates, reads, ephemeral notes): WebClient retries them and waits out 429s.
  const client = new WebClient(options.token, {
    ...common,
    retryConfig: options.retryConfig ?? DEFAULT_RETRY,
    rejectRateLimitedCalls: false,
  });
  // chat.postMessage is not idempotent: if an attempt timed out after Slack had posted, a blind
  // retry would post twice. This client never retries by itself; postMessage below retries only
  // 429s (Slack did not post) and leaves other failures to the caller's ledger (message-ledger.ts).
  const writer = new WebClient(options.token, {
    ...common,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
  const maxRateLimitWaits = options.maxRateLimitWaits ?? 3;

  async function call<S extends z.ZodType>(
    method: string,
    args: Record<string, unknown>,
    schema: S,
    via: WebClient = client,
  ): Promise<z.infer<S>> {
    // One deadline for the call and its rate-limit waits. WebClient takes no signal: its own
    // request timeout ends the request; the deadline only stops waiting for it.
    const deadline = AbortSignal.timeout(callTimeoutMs);
    try {
      const result = await retry(
        (signal) => untilAborted(via.apiCall(method, args), signal),
        {
          attempts: maxRateLimitWaits + 1,
          retryable: (err) => rateLimitedSeconds(err) !== undefined,
          requestedDelayMs: (err) => rateLimitedSeconds(err)! * 1000,
          onRetry: ({ err }) =>
            log.info(
              { method, retryAfter: rateLimitedSeconds(err) },
              'Slack rate limited the call; waiting as asked',
            ),
        },
        deadline,
      ).catch((err: unknown) => {
        if (!deadline.aborted) throw err;
        throw SlackApiUnavailable(method, `no answer within ${callTimeoutMs} ms`, { details: { method } });
      });
      const parsed = schema.safeParse(result);
      if (!parsed.success) {
        throw SlackApiUnavailable(method, 'unexpected response shape', { details: { method } });
      }
      return parsed.data;
    } catch (err) {
      throw toShipgateError(method, err);
    }
  }

  return {
    async postMessage(channel, message) {
      const answer = await call(
        'chat.postMessage',
        { channel, ...message, unfurl_links: false },
        postMessageResponseSchema,
        writer,
      );
      return { channel: answer.channel, ts: answer.ts };
    },
    async updateMessage(channel, ts, message) {
      await call('chat.update', { channel, ts, ...message }, updateResponseSchema);
    },
    async postEphemeral(channel, user, message) {
      await call('chat.postEphemeral', { channel, user, ...message }, postEphemeralResponseSchema);
    },
    async listUserGroupMembers(userGroupId) {
      const answer = await call(
        'usergroups.users.list',
        { usergroup: userGroupId, include_disabled: false },
        userGroupUsersResponseSchema,
      );
      return answer.users;
    },
    async lookupUserByEmail(email) {
      try {
        const answer = await call('users.lookupByEmail', { email }, lookupByEmailResponseSchema);
        return answer.user.deleted === true ? undefined : answer.user.id;
      } catch (err) {
        if (SlackApiRejected.is(err) && err.details?.slackError === 'users_not_found') return undefined;
        throw err;
      }
    },
    async findMessageByMetadata(query) {
      const args: Record<string, unknown> = {
        channel: query.channel,
        include_all_metadata: true,
        limit: 200,
        ...(query.oldest ? { oldest: (query.oldest.getTime() / 1000).toFixed(6) } : {}),
        ...(query.threadTs ? { ts: query.threadTs } : {}),
      };
      const method = query.threadTs ? 'conversations.replies' : 'conversations.history';
      // Recent messages only, and at most a few pages: the message, if posted, is minutes old.
      let cursor: string | undefined;
      for (let page = 0; page < 5; page++) {
        const answer = await call(method, { ...args, ...(cursor ? { cursor } : {}) }, historyResponseSchema);
        const hit = answer.messages
          .filter(
            (m) => m.metadata?.event_type === query.eventType && query.match(m.metadata.event_payload ?? {}),
          )
          .sort((a, b) => Number(b.ts) - Number(a.ts))[0];
        if (hit) return hit.ts;
        cursor = answer.response_metadata?.next_cursor;
        if (!answer.has_more || !cursor) return undefined;
      }
      return undefined;
    },
  };
}

function rateLimitedSeconds(err: unknown): number | undefined {
  const e = err as { code?: string; retryAfter?: number };
  return e?.code === ErrorCode.RateLimitedError && typeof e.retryAfter === 'number'
    ? e.retryAfter
    : undefined;
}

/** Maps WebClient errors to the catalogue without keeping them as `cause` (they can hold request headers). */
function toShipgateError(method: string, err: unknown): ShipgateError {
  if (SlackApiUnavailable.is(err) || SlackApiRejected.is(err)) return err;
  const e = err as { code?: string; message?: string; data?: { error?: string }; statusCode?: number };
  if (e?.code === ErrorCode.PlatformError) {
    const slackError = e.data?.error ?? 'unknown_error';
    const details = { method, slackError };
    return TRANSIENT_PLATFORM_ERRORS.has(slackError)
      ? SlackApiUnavailable(method, slackError, { details })
      : SlackApiRejected(method, slackError, { details });
  }
  if (e?.code === ErrorCode.RateLimitedError) {
    return SlackApiUnavailable(method, 'rate limited', { details: { method, slackError: 'ratelimited' } });
  }
  if (e?.code === ErrorCode.HTTPError) {
    return SlackApiUnavailable(method, `HTTP ${e.statusCode ?? 'error'}`, { details: { method } });
  }
  return SlackApiUnavailable(
    method,
    e?.code === ErrorCode.RequestError ? 'request failed' : 'unexpected error',
    {
      details: { method },
    },
  );
}

/** WebClient logs through this; its debug output (request bodies) is dropped. */
function pinoAdapter(log: Logger): SlackLogger {
  let level = LogLevel.INFO;
  const text = (msg: unknown[]) => msg.map((m) => (typeof m === 'string' ? m : String(m))).join(' ');
  return {
    debug: () => {},
    info: (...msg: unknown[]) => log.debug(text(msg)),
    warn: (...msg: unknown[]) => log.warn(text(msg)),
    error: (...msg: unknown[]) => log.error(text(msg)),
    setLevel: (l: LogLevel) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
