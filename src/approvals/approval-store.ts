import type { RedisClient } from '../redis/connection.js';
import { z } from 'zod';
import { newApprovalNonce } from '../slack/button-value.js';
import type {
  ApprovalDecision,
  ApprovalMessageContent,
  ApprovalRequest,
  ApprovalRule,
  ApprovalStatus,
  ApprovalVote,
} from './types.js';

/**
 * Approval requests in Redis. Every state change of a request is one Lua script, so a request
 * leaves `open` exactly once however many clicks, Slack retries or workers race on it.
 *
 * Keys (all under `<prefix>`, components URI-encoded; braces are Redis Cluster hash tags):
 * - `<prefix>:{approval:<runId>:<env>}`                 hash: the request
 * - `<prefix>:{approval:<runId>:<env>}:votes`           hash: userId → {"d","at","n"}
 * - `<prefix>:{approval:<runId>:<env>}:notice:<u>`      string: throttles ephemeral replies to one user
 * - `<prefix>:{approval:<runId>:<env>}:render-lock`     string: one renderer at a time
 * - `<prefix>:{approval-current:<app>:<env>}`           string: `<createdAt ms>\n<key>` of the newest request
 *
 * A request and its votes share a slot. The "newest request" pointer is per app and
 * environment, so on a cluster it lives in another slot: opening a request is three
 * single-slot steps (create → move the pointer → supersede the request it pointed to), and
 * the request remembers (`linked`) that the later steps were done, so a retry after a crash
 * between them completes them.
 */

export type RecordOutcome =
  'approved' | 'rejected' | 'recorded' | 'duplicate' | 'expired' | 'closed' | 'unknown';

export interface RecordClickResult {
  outcome: RecordOutcome;
  /** Status after this click; `undefined` for `unknown` (nothing is revealed about other runs). */
  status: ApprovalStatus | undefined;
  /** True only for the one call that moved the request out of `open`. */
  decided: boolean;
  /** Distinct approvers so far, oldest first. */
  approvers: ApprovalVote[];
  /** The rejecting vote, when the request is rejected. */
  rejectedBy?: ApprovalVote;
}

export interface OpenRequestInput {
  runId: string;
  env: string;
  /** App name; a newer request for the same app and environment supersedes an open older one. */
  app: string;
  /** @defaultValue a fresh 128-bit random nonce */
  nonce?: string;
  releaserSlackId?: string;
  rule: ApprovalRule;
  expiresAt: Date;
  channel: string;
  messageTs?: string;
  content?: ApprovalMessageContent;
}

export interface OpenRequestResult {
  /** False when a request for this run and environment already existed (it is returned unchanged). */
  created: boolean;
  request: ApprovalRequest;
  /** Run id of an open request for the same app and environment that this one superseded. */
  supersededRunId?: string;
}

export type RecordClickInput = {
  runId: string;
  env: string;
  userId: string;
  userName?: string;
  decision: ApprovalDecision;
  now: Date;
} & (
  | { via: 'slack'; nonce: string }
  /** The authenticated HTTP API and CLI fallback: no button, so no nonce to check. */
  | { via: 'api' }
);

export interface ApprovalStoreOptions {
  /** How long a request and its votes are kept after it expires, for audit. @defaultValue 30 days */
  retentionMs?: number;
}

/** Step 1 of openRequest, on the request's slot. Returns {'created'|'existing', status, linked}. */
const OPEN_SCRIPT = `
local h = redis.call('HMGET', KEYS[1], 'status', 'linked')
if h[1] then return {'existing', h[1], h[2] or '0'} end
local now = ARGV[1]
redis.call('HSET', KEYS[1],
  'runId', ARGV[2], 'env', ARGV[3], 'app', ARGV[4], 'nonce', ARGV[5], 'releaserSlackId', ARGV[6],
  'rule', ARGV[7], 'required', ARGV[8], 'createdAt', now, 'expiresAt', ARGV[9], 'channel', ARGV[10],
  'messageTs', ARGV[11], 'content', ARGV[12], 'retainUntil', ARGV[13],
  'status', 'open', 'approvals', 0, 'version', 1, 'renderedVersion', 0, 'linked', 0)
redis.call('PEXPIREAT', KEYS[1], ARGV[13])
return {'created', 'open', '0'}
`;

/**
 * Step 3, on the pointer's slot: a compare-and-set, so two requests opening at once cannot both
 * believe they replaced the same one. KEYS: 1 pointer. ARGV: 1 value read before ('' = none),
 * 2 new value, 3 expire-at ms. Returns 1 when set.
 */
const MOVE_POINTER_SCRIPT = `
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return 1
`;

/**
 * Step 2, on the replaced request's slot. KEYS: 1 request. ARGV: 1 now, 2 superseding run id.
 * Returns the request's run id when it is (now, or from an earlier attempt of this same step)
 * superseded by ARGV[2], else ''.
 */
const SUPERSEDE_SCRIPT = `
local h = redis.call('HMGET', KEYS[1], 'status', 'decidedBy', 'runId')
if h[1] == 'superseded' and h[2] == ARGV[2] then return h[3] end
if h[1] ~= 'open' then return '' end
redis.call('HSET', KEYS[1], 'status', 'superseded', 'decidedAt', ARGV[1], 'decidedBy', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'version', 1)
return h[3]
`;

/** Marks steps 2 and 3 done. KEYS: 1 request. */
const MARK_LINKED_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'linked', 1)
return 1
`;

const RECORD_SCRIPT = `
local h = redis.call('HMGET', KEYS[1], 'status', 'nonce', 'expiresAt', 'required', 'retainUntil')
local status = h[1]
if not status then return {'unknown', '', '0'} end
if ARGV[1] == '1' and h[2] ~= ARGV[2] then return {'unknown', '', '0'} end
local user, decision, now = ARGV[3], ARGV[4], ARGV[5]
local prior = redis.call('HGET', KEYS[2], user)
local priorDecision = nil
if prior then priorDecision = cjson.decode(prior).d end
local function finish(outcome, st, decided)
  local out = {outcome, st, decided}
  local votes = redis.call('HGETALL', KEYS[2])
  for i = 1, #votes do out[#out + 1] = votes[i] end
  return out
end
if status ~= 'open' then
  if priorDecision == decision then return finish('duplicate', status, '0') end
  if status == 'expired' then return finish('expired', status, '0') end
  return finish('closed', status, '0')
end
if tonumber(now) >= tonumber(h[3]) then
  redis.call('HSET', KEYS[1], 'status', 'expired', 'decidedAt', now)
  redis.call('HINCRBY', KEYS[1], 'version', 1)
  return finish('expired', 'expired', '1')
end
if priorDecision == decision then return finish('duplicate', 'open', '0') end
redis.call('HSET', KEYS[2], user, cjson.encode({d = decision, at = tonumber(now), n = ARGV[6]}))
redis.call('PEXPIREAT', KEYS[2], h[5])
redis.call('HINCRBY', KEYS[1], 'version', 1)
if decision == 'reject' then
  redis.call('HSET', KEYS[1], 'status', 'rejected', 'decidedAt', now, 'decidedBy', user)
  return finish('rejected', 'rejected', '1')
end
local approvals = redis.call('HINCRBY', KEYS[1], 'approvals', 1)
if approvals >= tonumber(h[4]) then
  redis.call('HSET', KEYS[1], 'status', 'approved', 'decidedAt', now, 'decidedBy', user)
  return finish('approved', 'approved', '1')
end
return finish('recorded', 'open', '0')
`;

/** Moves an open request to ARGV[1] ('expired' needs expiresAt <= now). Returns 1 when it moved. */
const CLOSE_SCRIPT = `
local h = redis.call('HMGET', KEYS[1], 'status', 'expiresAt')
if h[1] ~= 'open' then return 0 end
if ARGV[1] == 'expired' and tonumber(ARGV[2]) < tonumber(h[2]) then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'decidedAt', ARGV[2], 'decidedBy', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'version', 1)
return 1
`;

const ATTACH_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'channel', ARGV[1], 'messageTs', ARGV[2])
return 1
`;

const MARK_RENDERED_SCRIPT = `
local rendered = tonumber(redis.call('HGET', KEYS[1], 'renderedVersion') or '-1')
if tonumber(ARGV[1]) > rendered then
  redis.call('HSET', KEYS[1], 'renderedVersion', ARGV[1])
  return 1
end
return 0
`;

const RELEASE_LOCK_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`;

const ruleSchema = z.object({
  approvers: z.object({ users: z.array(z.string()), userGroups: z.array(z.string()) }),
  required: z.number().int().min(1),
  releaserMayApprove: z.boolean(),
  expiresAfterHours: z.number().positive(),
  channel: z.string().min(1),
});
const voteSchema = z.object({ d: z.enum(['approve', 'reject']), at: z.number(), n: z.string().optional() });
const statusSchema = z.enum(['open', 'approved', 'rejected', 'expired', 'superseded']);
const millis = z.string().regex(/^\d+$/).transform(Number);
const requestHashSchema = z.object({
  runId: z.string(),
  env: z.string(),
  app: z.string(),
  nonce: z.string(),
  releaserSlackId: z.string(),
  rule: z.string(),
  status: statusSchema,
  createdAt: millis,
  expiresAt: millis,
  channel: z.string(),
  messageTs: z.string(),
  content: z.string(),
  decidedAt: millis.optional(),
  decidedBy: z.string().optional(),
  version: millis,
  renderedVersion: millis,
});

export class ApprovalStore {
  private readonly retentionMs: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    options: ApprovalStoreOptions = {},
  ) {
    this.retentionMs = options.retentionMs ?? 30 * 24 * 3600 * 1000;
  }

  /** The request's key; its votes, notices and render lock share its hash tag. */
  requestKey(runId: string, env: string): string {
    return `${this.prefix}:{approval:${encodeURIComponent(runId)}:${encodeURIComponent(env)}}`;
  }

  currentKey(app: string, env: string): string {
    return `${this.prefix}:{approval-current:${encodeURIComponent(app)}:${encodeURIComponent(env)}}`;
  }

  /**
   * Opens a request, or returns the existing one for this run and environment unchanged (so a
   * retried job reuses the nonce it already put on buttons). Supersedes an open request of an
   * older run of the same app and environment.
   */
  async openRequest(input: OpenRequestInput, now: Date = new Date()): Promise<OpenRequestResult> {
    if (!Number.isInteger(input.rule.required) || input.rule.required < 1) {
      throw new RangeError('rule.required must be a positive integer');
    }
    const key = this.requestKey(input.runId, input.env);
    // Redis counts TTLs on the real clock, whatever clock the caller decides expiry with.
    const retainUntil = Math.max(input.expiresAt.getTime(), Date.now()) + this.retentionMs;
    const [result, , linked] = (await this.redis.eval(
      OPEN_SCRIPT,
      1,
      key,
      String(now.getTime()),
      input.runId,
      input.env,
      input.app,
      input.nonce ?? newApprovalNonce(),
      input.releaserSlackId ?? '',
      JSON.stringify(input.rule),
      String(input.rule.required),
      String(input.expiresAt.getTime()),
      input.channel,
      input.messageTs ?? '',
      input.content === undefined ? '' : JSON.stringify(input.content),
      String(retainUntil),
    )) as [string, string, string];
    let superseded: string | undefined;
    if (linked !== '1') {
      const existing = result === 'existing' ? await this.getRequest(input.runId, input.env) : undefined;
      superseded = await this.link(
        key,
        input.runId,
        this.currentKey(input.app, input.env),
        existing?.createdAt.getTime() ?? now.getTime(),
        retainUntil,
        now,
      );
    }
    const request = await this.getRequest(input.runId, input.env);
    if (request === undefined) throw new Error(`approval request ${key} vanished after it was opened`);
    return {
      created: result === 'created',
      request,
      ...(superseded ? { supersededRunId: superseded } : {}),
    };
  }

  /**
   * Steps 2 and 3 of openRequest: makes this the newest request of its app and environment and
   * supersedes the one it replaces (or, when a newer one got there first, this one). The pointer
   * moves last, by compare-and-set, so a crash between the steps leaves it where a retry
   * repeats them. Returns the run id of the request this one superseded.
   */
  private async link(
    key: string,
    runId: string,
    pointer: string,
    createdAtMs: number,
    retainUntil: number,
    now: Date,
  ): Promise<string | undefined> {
    let superseded: string | undefined;
    // Each pass either finishes or sees the pointer moved by a request opened meanwhile.
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const current = (await this.redis.get(pointer)) ?? '';
      const sep = current.indexOf('\n');
      const currentAt = sep === -1 ? 0 : Number(current.slice(0, sep));
      const currentKey = sep === -1 ? current : current.slice(sep + 1);
      if (currentKey === key) break;
      if (currentKey !== '' && currentAt > createdAtMs) {
        const newerRunId = await this.redis.hget(currentKey, 'runId');
        if (newerRunId !== null) {
          await this.redis.eval(SUPERSEDE_SCRIPT, 1, key, String(now.getTime()), newerRunId);
          break;
        }
      }
      if (currentKey !== '') {
        const moved = (await this.redis.eval(
          SUPERSEDE_SCRIPT,
          1,
          currentKey,
          String(now.getTime()),
          runId,
        )) as string | null;
        superseded = moved ? moved : undefined;
      }
      const set = await this.redis.eval(
        MOVE_POINTER_SCRIPT,
        1,
        pointer,
        current,
        `${createdAtMs}\n${key}`,
        String(retainUntil),
      );
      if (set === 1) break;
    }
    await this.redis.eval(MARK_LINKED_SCRIPT, 1, key);
    return superseded;
  }

  /** Records one click (already authorized by the caller). See `RecordOutcome`. */
  async recordClick(input: RecordClickInput): Promise<RecordClickResult> {
    const key = this.requestKey(input.runId, input.env);
    const reply = (await this.redis.eval(
      RECORD_SCRIPT,
      2,
      key,
      `${key}:votes`,
      input.via === 'slack' ? '1' : '0',
      input.via === 'slack' ? input.nonce : '',
      input.userId,
      input.decision,
      String(input.now.getTime()),
      input.userName ?? '',
    )) as string[];
    const [outcome, status, decided, ...flatVotes] = reply;
    const votes = parseVotes(flatVotes);
    const rejectedBy = votes.find((v) => v.decision === 'reject');
    return {
      outcome: outcome as RecordOutcome,
      status: status === '' || status === undefined ? undefined : statusSchema.parse(status),
      decided: decided === '1',
      approvers: votes.filter((v) => v.decision === 'approve'),
      ...(rejectedBy ? { rejectedBy } : {}),
    };
  }

  async getRequest(runId: string, env: string): Promise<ApprovalRequest | undefined> {
    const key = this.requestKey(runId, env);
    // One transaction on one slot: the votes share the request's hash tag.
    const [hash, votes] = (await this.redis
      .multi()
      .hgetall(key)
      .hgetall(`${key}:votes`)
      .exec()
      .then((replies) =>
        replies?.map(([err, value]) => {
          if (err) throw err;
          return value;
        }),
      )) as [Record<string, string>, Record<string, string>];
    if (Object.keys(hash).length === 0) return undefined;
    const h = requestHashSchema.parse(hash);
    return {
      runId: h.runId,
      env: h.env,
      app: h.app,
      nonce: h.nonce,
      ...(h.releaserSlackId ? { releaserSlackId: h.releaserSlackId } : {}),
      rule: ruleSchema.parse(JSON.parse(h.rule)),
      status: h.status,
      createdAt: new Date(h.createdAt),
      expiresAt: new Date(h.expiresAt),
      channel: h.channel,
      ...(h.messageTs ? { messageTs: h.messageTs } : {}),
      ...(h.content ? { content: JSON.parse(h.content) as ApprovalMessageContent } : {}),
      ...(h.decidedAt !== undefined ? { decidedAt: new Date(h.decidedAt) } : {}),
      ...(h.decidedBy ? { decidedBy: h.decidedBy } : {}),
      version: h.version,
      renderedVersion: h.renderedVersion,
      votes: parseVotes(Object.entries(votes).flat()),
    };
  }

  /** Records where the approval message was posted. */
  async attachMessage(runId: string, env: string, channel: string, messageTs: string): Promise<boolean> {
    const moved = await this.redis.eval(ATTACH_SCRIPT, 1, this.requestKey(runId, env), channel, messageTs);
    return moved === 1;
  }

  /**
   * Expires the request if it is open and past `expiresAt`. True only for the call that expired it,
   * so a scheduled expiry job and a late click cannot both act on it.
   */
  async expire(runId: string, env: string, now: Date = new Date()): Promise<boolean> {
    const moved = await this.redis.eval(
      CLOSE_SCRIPT,
      1,
      this.requestKey(runId, env),
      'expired',
      String(now.getTime()),
      '',
    );
    return moved === 1;
  }

  /** Closes an open request because a newer run replaced it (or the run was cancelled). */
  async supersede(runId: string, env: string, byRunId: string, now: Date = new Date()): Promise<boolean> {
    const moved = await this.redis.eval(
      CLOSE_SCRIPT,
      1,
      this.requestKey(runId, env),
      'superseded',
      String(now.getTime()),
      byRunId,
    );
    return moved === 1;
  }

  /**
   * Notes that Slack shows `version` of the request. True when that is newer than what was shown,
   * so callers skip redundant `chat.update`s under a flood of clicks.
   */
  async markRendered(runId: string, env: string, version: number): Promise<boolean> {
    const moved = await this.redis.eval(
      MARK_RENDERED_SCRIPT,
      1,
      this.requestKey(runId, env),
      String(version),
    );
    return moved === 1;
  }

  /** A short lock so one worker at a time renders a request's message (see sync-approval-message.ts). */
  async acquireRenderLock(runId: string, env: string, token: string, ttlMs = 15_000): Promise<boolean> {
    const key = `${this.requestKey(runId, env)}:render-lock`;
    return (await this.redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async releaseRenderLock(runId: string, env: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE_LOCK_SCRIPT, 1, `${this.requestKey(runId, env)}:render-lock`, token);
  }

  /** True at most once per `ttlSeconds` per user and request: bounds ephemeral replies to a flood of clicks. */
  async claimNotice(runId: string, env: string, userId: string, ttlSeconds = 60): Promise<boolean> {
    const key = `${this.requestKey(runId, env)}:notice:${encodeURIComponent(userId)}`;
    return (await this.redis.set(key, '1', 'EX', ttlSeconds, 'NX')) === 'OK';
  }
}

function parseVotes(flat: string[]): ApprovalVote[] {
  const votes: ApprovalVote[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const vote = voteSchema.parse(JSON.parse(flat[i + 1] as string));
    votes.push({
      userId: flat[i] as string,
      ...(vote.n ? { userName: vote.n } : {}),
      decision: vote.d,
      at: new Date(vote.at),
    });
  }
  return votes.sort((a, b) => a.at.getTime() - b.at.getTime());
}
