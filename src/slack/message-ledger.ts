import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../redis/connection.js';
import { SlackApiRejected, SlackPostInProgress } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SlackClient, SlackMessage } from './slack-client.js';

/** `metadata.event_type` of every message Shipgate posts; its payload names the run and message key. */
export const SHIPGATE_MESSAGE_EVENT = 'shipgate_message';

export interface PostOnceInput {
  runId: string;
  /** What this message is within the run, e.g. `thread-root`, `approval:production`, `deployed:staging`. */
  messageKey: string;
  channel: string;
  message: Omit<SlackMessage, 'metadata'>;
  /**
   * Identifies one logical attempt. Retries by the same owner may take over its own claim at once;
   * other owners wait for the lease. @defaultValue a fresh id (every call is its own owner)
   */
  owner?: string;
}

export interface PostedMessage {
  channel: string;
  ts: string;
  /** True when the message had already been posted (by an earlier attempt) and was not posted again. */
  reused: boolean;
}

export interface MessageLedgerOptions {
  /** How long a claim blocks other attempts; longer than one post can take. @defaultValue 60_000 */
  leaseMs?: number;
  /** How long a posted message's ts is kept. @defaultValue 30 days */
  retentionMs?: number;
  now?: () => number;
  logger?: Logger;
}

/**
 * Posts each (run, message key) at most once, also across retried jobs and crashed workers.
 *
 * The ledger claims the key in Redis before posting and stores the `ts` after. A retry that finds a
 * claim but no `ts` cannot know whether the earlier attempt's post reached Slack, so it looks for a
 * message carrying our metadata (`{ run_id, message_key }`) in the channel (or thread) history and
 * adopts it; only when none is there does it post. That needs `channels:history` (and
 * `groups:history` for private channels). Without those scopes the lookup fails and the ledger
 * posts anyway: at-least-once in that narrow crash window, rather than losing an approval request.
 *
 * Key: `{prefix}:slack-msg:{runId}:{messageKey}` → hash { owner, claimedAt, firstClaimedAt, channel, ts }.
 */
export class MessageLedger {
  private readonly leaseMs: number;
  private readonly retentionMs: number;
  private readonly now: () => number;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly options: MessageLedgerOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 60_000;
    this.retentionMs = options.retentionMs ?? 30 * 24 * 3600 * 1000;
    this.now = options.now ?? Date.now;
  }

  private key(runId: string, messageKey: string): string {
    return `${this.prefix}:slack-msg:${encodeURIComponent(runId)}:${encodeURIComponent(messageKey)}`;
  }

  /** Where a message was posted, if it was. */
  async get(runId: string, messageKey: string): Promise<{ channel: string; ts: string } | undefined> {
    const [channel, ts] = await this.redis.hmget(this.key(runId, messageKey), 'channel', 'ts');
    return channel && ts ? { channel, ts } : undefined;
  }

  async postOnce(slack: SlackClient, input: PostOnceInput): Promise<PostedMessage> {
    const key = this.key(input.runId, input.messageKey);
    const owner = input.owner ?? randomUUID();
    const now = this.now();
    const [state, a, b] = (await this.redis.eval(
      CLAIM_SCRIPT,
      1,
      key,
      owner,
      String(now),
      String(this.leaseMs),
      String(this.retentionMs),
    )) as [string, string, string];
    if (state === 'posted') return { channel: a, ts: b, reused: true };

    const metadata = {
      event_type: SHIPGATE_MESSAGE_EVENT,
      event_payload: { run_id: input.runId, message_key: input.messageKey },
    };
    if (state === 'busy' || state === 'reclaimed') {
      // An earlier attempt claimed this message and never recorded a ts: it may have posted.
      const found = await this.findPosted(slack, input, Number(a));
      if (found !== undefined) {
        await this.record(key, input.channel, found);
        return { channel: input.channel, ts: found, reused: true };
      }
      if (state === 'busy') throw SlackPostInProgress(`${input.runId}/${input.messageKey}`);
    }

    let posted: { channel: string; ts: string };
    try {
      posted = await slack.postMessage(input.channel, { ...input.message, metadata });
    } catch (err) {
      // `ok: false` means Slack posted nothing: free the claim so a retry need not wait out the lease.
      if (SlackApiRejected.is(err)) await this.redis.eval(RELEASE_SCRIPT, 1, key, owner);
      throw err;
    }
    await this.record(key, posted.channel, posted.ts);
    return { ...posted, reused: false };
  }

  private async record(key: string, channel: string, ts: string): Promise<void> {
    await this.redis.hset(key, 'channel', channel, 'ts', ts);
  }

  private async findPosted(
    slack: SlackClient,
    input: PostOnceInput,
    firstClaimedAt: number,
  ): Promise<string | undefined> {
    try {
      return await slack.findMessageByMetadata({
        channel: input.channel,
        ...(input.message.thread_ts ? { threadTs: input.message.thread_ts } : {}),
        // A minute of slack for clock skew between us and Slack.
        oldest: new Date(firstClaimedAt - 60_000),
        eventType: SHIPGATE_MESSAGE_EVENT,
        match: (p) => p.run_id === input.runId && p.message_key === input.messageKey,
      });
    } catch (err) {
      if (!SlackApiRejected.is(err)) throw err;
      this.options.logger?.warn(
        { runId: input.runId, messageKey: input.messageKey, slackError: err.details?.slackError },
        'cannot read channel history to check for an earlier post; posting (at-least-once)',
      );
      return undefined;
    }
  }
}

/**
 * Returns {'posted', channel, ts} | {'claimed'} | {'reclaimed', firstClaimedAt} (our own claim, or
 * a stale one) | {'busy', firstClaimedAt} (someone else's live claim).
 */
const CLAIM_SCRIPT = `
local h = redis.call('HMGET', KEYS[1], 'ts', 'channel', 'owner', 'claimedAt', 'firstClaimedAt')
if h[1] then return {'posted', h[2], h[1]} end
local now = tonumber(ARGV[2])
if not h[3] then
  redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'claimedAt', ARGV[2], 'firstClaimedAt', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {'claimed', ARGV[2], ''}
end
if h[3] == ARGV[1] or now - tonumber(h[4]) >= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'claimedAt', ARGV[2])
  return {'reclaimed', h[5], ''}
end
return {'busy', h[5], ''}
`;

const RELEASE_SCRIPT = `
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] and not redis.call('HGET', KEYS[1], 'ts') then
  redis.call('DEL', KEYS[1])
end
return 0
`;
