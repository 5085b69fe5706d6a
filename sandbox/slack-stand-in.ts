import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listenOnFreePort } from './listen.js';

/**
 * A local Slack Web API speaking the real wire format, for the methods Shipgate uses:
 * `chat.postMessage`, `chat.update`, `chat.postEphemeral`, `usergroups.users.list`,
 * `users.lookupByEmail`, `conversations.history`, `conversations.replies`.
 *
 * - `POST /api/{method}`, body `application/x-www-form-urlencoded` (what WebClient sends; object
 *   values arrive JSON-encoded) or `application/json`.
 * - `Authorization: Bearer xoxb-…` is checked: `not_authed` / `invalid_auth` otherwise.
 * - Answers `{ ok: true, … }` or `{ ok: false, error }` with HTTP 200, like Slack; `rateLimit()`
 *   answers HTTP 429 with `Retry-After`, and `fail()` injects errors, HTTP statuses or delays.
 * - Records every call, every message (with its thread) and every ephemeral note.
 */

export interface StandInMessage {
  channel: string;
  ts: string;
  text: string;
  blocks?: unknown[];
  threadTs?: string;
  replyBroadcast: boolean;
  metadata?: { event_type: string; event_payload?: Record<string, unknown> };
  /** Every version the message had, oldest first (chat.update appends). */
  edits: { text: string; blocks?: unknown[] }[];
}

export interface StandInEphemeral {
  channel: string;
  user: string;
  text: string;
  threadTs?: string;
}

export interface StandInCall {
  method: string;
  args: Record<string, unknown>;
  contentType: string;
  authorization: string | undefined;
  status: number;
  at: number;
}

type Injected =
  | { kind: 'ratelimit'; retryAfterSeconds: number }
  | { kind: 'error'; error: string }
  | { kind: 'http'; status: number }
  | { kind: 'delay'; ms: number };

export interface SlackStandInOptions {
  /** @defaultValue `xoxb-shipgate-test-token` */
  token?: string;
  users?: { id: string; email: string; name?: string }[];
  userGroups?: Record<string, string[]>;
}

export interface SlackStandIn {
  /** Base URL to use as `SLACK_API_URL` (ends in `/api`, no trailing slash). */
  apiUrl: string;
  token: string;
  calls: StandInCall[];
  messages: StandInMessage[];
  ephemerals: StandInEphemeral[];
  callsTo(method: string): StandInCall[];
  /** Top-level messages of a channel, oldest first. */
  channelMessages(channel: string): StandInMessage[];
  /** Replies in a thread, oldest first (the root excluded). */
  threadReplies(channel: string, threadTs: string): StandInMessage[];
  /** The next `times` calls to `method` get HTTP 429 with `Retry-After: seconds`. */
  rateLimit(method: string, times: number, retryAfterSeconds: number): void;
  /** The next `times` calls to `method` fail: a Slack error, an HTTP status, or a delay before answering normally. */
  fail(
    method: string,
    times: number,
    failure: { error: string } | { http: number } | { delayMs: number },
  ): void;
  setUserGroup(id: string, members: string[]): void;
  close(): Promise<void>;
}

export async function startSlackStandIn(options: SlackStandInOptions = {}): Promise<SlackStandIn> {
  const token = options.token ?? 'xoxb-shipgate-test-token';
  const users = options.users ?? [];
  const groups = new Map(Object.entries(options.userGroups ?? {}));
  const calls: StandInCall[] = [];
  const messages: StandInMessage[] = [];
  const ephemerals: StandInEphemeral[] = [];
  const injected = new Map<string, Injected[]>();
  // Microseconds since the epoch, like Slack's ts, and strictly increasing so every ts is unique.
  let clock = Date.now() * 1000;

  const nextTs = () => {
    clock = Math.max(clock + 1, Date.now() * 1000);
    const s = String(clock);
    return `${s.slice(0, 10)}.${s.slice(10)}`;
  };
  const inject = (method: string, times: number, what: Injected) => {
    const list = injected.get(method) ?? [];
    for (let i = 0; i < times; i++) list.push(what);
    injected.set(method, list);
  };
  const find = (channel: string, ts: string) => messages.find((m) => m.channel === channel && m.ts === ts);

  const handlers: Record<string, (args: Record<string, unknown>) => Record<string, unknown>> = {
    'chat.postMessage': (args) => {
      const channel = str(args.channel);
      const text = str(args.text);
      const blocks = json<unknown[]>(args.blocks);
      if (!channel) return { ok: false, error: 'channel_not_found' };
      if (!text && !blocks) return { ok: false, error: 'no_text' };
      const threadTs = str(args.thread_ts);
      if (threadTs && !find(channel, threadTs)) return { ok: false, error: 'thread_not_found' };
      const metadata = json<StandInMessage['metadata']>(args.metadata);
      const message: StandInMessage = {
        channel,
        ts: nextTs(),
        text: text ?? '',
        ...(blocks ? { blocks } : {}),
        ...(threadTs ? { threadTs } : {}),
        replyBroadcast: args.reply_broadcast === true || args.reply_broadcast === 'true',
        ...(metadata ? { metadata } : {}),
        edits: [],
      };
      messages.push(message);
      return { ok: true, channel, ts: message.ts, message: wire(message, true) };
    },
    'chat.update': (args) => {
      const message = find(str(args.channel) ?? '', str(args.ts) ?? '');
      if (!message) return { ok: false, error: 'message_not_found' };
      message.edits.push({ text: message.text, ...(message.blocks ? { blocks: message.blocks } : {}) });
      const text = str(args.text);
      const blocks = json<unknown[]>(args.blocks);
      if (text !== undefined) message.text = text;
      if (blocks !== undefined) message.blocks = blocks;
      return { ok: true, channel: message.channel, ts: message.ts, text: message.text };
    },
    'chat.postEphemeral': (args) => {
      const channel = str(args.channel);
      const user = str(args.user);
      if (!channel) return { ok: false, error: 'channel_not_found' };
      if (!user || !/^[UW]/.test(user)) return { ok: false, error: 'user_not_in_channel' };
      const threadTs = str(args.thread_ts);
      ephemerals.push({ channel, user, text: str(args.text) ?? '', ...(threadTs ? { threadTs } : {}) });
      return { ok: true, message_ts: nextTs() };
    },
    'usergroups.users.list': (args) => {
      const members = groups.get(str(args.usergroup) ?? '');
      return members ? { ok: true, users: [...members] } : { ok: false, error: 'no_such_subteam' };
    },
    'users.lookupByEmail': (args) => {
      const email = (str(args.email) ?? '').toLowerCase();
      const user = users.find((u) => u.email.toLowerCase() === email);
      return user
        ? {
            ok: true,
            user: { id: user.id, name: user.name ?? user.id, deleted: false, profile: { email: user.email } },
          }
        : { ok: false, error: 'users_not_found' };
    },
    'conversations.history': (args) => {
      const channel = str(args.channel) ?? '';
      const oldest = Number(str(args.oldest) ?? '0');
      const withMetadata = args.include_all_metadata === true || args.include_all_metadata === 'true';
      const limit = Math.min(Number(str(args.limit) ?? '100'), 1000);
      const list = messages
        .filter((m) => m.channel === channel && (!m.threadTs || m.replyBroadcast) && Number(m.ts) > oldest)
        .sort((a, b) => Number(b.ts) - Number(a.ts));
      return {
        ok: true,
        messages: list.slice(0, limit).map((m) => wire(m, withMetadata)),
        has_more: list.length > limit,
      };
    },
    'conversations.replies': (args) => {
      const channel = str(args.channel) ?? '';
      const ts = str(args.ts) ?? '';
      const root = find(channel, ts);
      if (!root) return { ok: false, error: 'thread_not_found' };
      const oldest = Number(str(args.oldest) ?? '0');
      const withMetadata = args.include_all_metadata === true || args.include_all_metadata === 'true';
      const replies = messages.filter(
        (m) => m.channel === channel && m.threadTs === ts && Number(m.ts) > oldest,
      );
      return { ok: true, messages: [root, ...replies].map((m) => wire(m, withMetadata)), has_more: false };
    },
  };

  const server = createServer((req, res) => {
    void handle(req, res);
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
    const contentType = String(req.headers['content-type'] ?? '');
    let args: Record<string, unknown> = {};
    if (contentType.startsWith('application/json')) {
      args = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } else {
      args = Object.fromEntries(new URLSearchParams(raw));
    }
    const call: StandInCall = {
      method,
      args,
      contentType,
      authorization: req.headers.authorization,
      status: 200,
      at: Date.now(),
    };
    calls.push(call);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      call.status = status;
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(body));
    };

    if (req.method !== 'POST' || !(method in handlers))
      return send(404, { ok: false, error: 'unknown_method' });
    const auth = req.headers.authorization;
    if (auth === undefined) return send(200, { ok: false, error: 'not_authed' });
    if (auth !== `Bearer ${token}`) return send(200, { ok: false, error: 'invalid_auth' });

    const next = injected.get(method)?.shift();
    if (next?.kind === 'ratelimit') {
      return send(
        429,
        { ok: false, error: 'ratelimited' },
        { 'retry-after': String(next.retryAfterSeconds) },
      );
    }
    if (next?.kind === 'error') return send(200, { ok: false, error: next.error });
    if (next?.kind === 'http') return send(next.status, { ok: false, error: 'internal_error' });
    if (next?.kind === 'delay') await new Promise((r) => setTimeout(r, next.ms));
    send(200, (handlers[method] as (a: Record<string, unknown>) => Record<string, unknown>)(args));
  }

  const baseUrl = await listenOnFreePort(server);
  return {
    apiUrl: `${baseUrl}/api`,
    token,
    calls,
    messages,
    ephemerals,
    callsTo: (method) => calls.filter((c) => c.method === method),
    channelMessages: (channel) => messages.filter((m) => m.channel === channel && !m.threadTs),
    threadReplies: (channel, threadTs) =>
      messages.filter((m) => m.channel === channel && m.threadTs === threadTs),
    rateLimit: (method, times, retryAfterSeconds) =>
      inject(method, times, { kind: 'ratelimit', retryAfterSeconds }),
    fail: (method, times, failure) =>
      inject(
        method,
        times,
        'error' in failure
          ? { kind: 'error', error: failure.error }
          : 'http' in failure
            ? { kind: 'http', status: failure.http }
            : { kind: 'delay', ms: failure.delayMs },
      ),
    setUserGroup: (id, members) => {
      groups.set(id, members);
    },
    close: () => closeServer(server),
  };
}

function str(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : String(value);
}

/** Form bodies carry objects JSON-encoded; JSON bodies carry them as is. */
function json<T>(value: unknown): T | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return value as T;
  return JSON.parse(value) as T;
}

function wire(m: StandInMessage, withMetadata: boolean): Record<string, unknown> {
  return {
    type: 'message',
    subtype: 'bot_message',
    ts: m.ts,
    text: m.text,
    ...(m.blocks ? { blocks: m.blocks } : {}),
    ...(m.threadTs ? { thread_ts: m.threadTs } : {}),
    ...(withMetadata && m.metadata ? { metadata: m.metadata } : {}),
  };
}
