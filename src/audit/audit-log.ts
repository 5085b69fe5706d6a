import type { RedisClient } from '../redis/connection.js';
import {
  AuditEntryInputSchema,
  AuditQuerySchema,
  type AuditEntry,
  type AuditEntryInput,
  type AuditQuery,
} from './schema.js';

export interface AuditLogOptions {
  /** Key prefix (`<queuePrefix>:audit`). */
  prefix: string;
  /** Entries older than this are trimmed as new ones arrive. @defaultValue 400 days */
  retentionDays?: number;
  /** Clock, for tests. */
  now?: () => Date;
}

export const DEFAULT_AUDIT_RETENTION_DAYS = 400;

/**
 * Appends one entry unless its dedupe key was seen: the key and the entry are written in one
 * script, so a retried job (a Slack click retried by Slack, a job re-run after a crash) lands
 * once. Old entries are trimmed by age with `MINID` (approximate, so trimming stays O(1)).
 * The dedupe marker lives as long as the retention, so a replay of an old decision is still a
 * duplicate.
 */
const APPEND_SCRIPT = `
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) == false then
  return false
end
return redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[2], '*', 'e', ARGV[1])
`;

export interface AuditPage {
  entries: AuditEntry[];
  /** Pass as `cursor` for the next page; null when this page reached the end. */
  nextCursor: string | null;
}

/**
 * The append-only audit trail: a Redis stream (`<prefix>:{audit}:stream`). Stream ids grow with time
 * and are never reused, so paging by "after this id" is stable while entries are appended.
 */
export class AuditLog {
  private readonly streamKey: string;
  private readonly retentionMs: number;
  private readonly now: () => Date;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: AuditLogOptions,
  ) {
    // `{audit}` is a Redis Cluster hash tag: the stream and its dedupe markers share a slot,
    // so the append script can write both.
    this.streamKey = `${options.prefix}:{audit}:stream`;
    this.retentionMs = (options.retentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS) * 86_400_000;
    this.now = options.now ?? (() => new Date());
  }

  /** Records a decision once per `dedupeKey`. Resolves to the new entry's id, or null for a duplicate. */
  async record(input: AuditEntryInput, dedupeKey: string): Promise<string | null> {
    const entry = AuditEntryInputSchema.parse(input);
    const minId = `${Math.max(0, this.now().getTime() - this.retentionMs)}-0`;
    const id = (await this.redis.eval(
      APPEND_SCRIPT,
      2,
      this.streamKey,
      `${this.options.prefix}:{audit}:seen:${dedupeKey.slice(0, 300)}`,
      JSON.stringify(entry),
      minId,
      String(Math.ceil(this.retentionMs / 1000)),
    )) as string | null;
    return id ?? null;
  }

  /** One page of entries, oldest first, matching every filter given. */
  async list(rawQuery: AuditQuery = {}): Promise<AuditPage> {
    const q = AuditQuerySchema.parse(rawQuery);
    let start = q.cursor !== undefined ? `(${q.cursor}` : toStreamId(q.since, '-');
    const end = toStreamId(q.until, '+', true);
    const entries: AuditEntry[] = [];
    const batch = Math.max(q.limit, 100);
    for (;;) {
      const rows = (await this.redis.xrange(this.streamKey, start, end, 'COUNT', batch)) as [
        string,
        string[],
      ][];
      for (const [id, fields] of rows) {
        const entry = parseEntry(id, fields);
        if (entry === undefined || !matches(entry, q)) continue;
        entries.push(entry);
        if (entries.length === q.limit) return { entries, nextCursor: id };
      }
      if (rows.length < batch) return { entries, nextCursor: null };
      start = `(${rows[rows.length - 1]![0]}`;
    }
  }

  /** Every matching entry from `since` on, page by page (for `shipgate audit export`). */
  async *export(query: Omit<AuditQuery, 'cursor' | 'limit'> = {}): AsyncGenerator<AuditEntry> {
    let cursor: string | undefined;
    for (;;) {
      const page = await this.list({ ...query, limit: 500, ...(cursor ? { cursor } : {}) });
      yield* page.entries;
      if (page.nextCursor === null) return;
      cursor = page.nextCursor;
    }
  }
}

/** ISO time or stream id to a stream id bound (`until` includes the whole millisecond). */
function toStreamId(value: string | undefined, open: '-' | '+', end = false): string {
  if (value === undefined) return open;
  if (/^\d{1,15}(-\d{1,10})?$/.test(value)) return value;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError(`not a time or stream id: ${value.slice(0, 40)}`);
  return end ? `${ms}-18446744073709551615` : `${ms}-0`;
}

function parseEntry(id: string, fields: string[]): AuditEntry | undefined {
  const raw = fields[fields.indexOf('e') + 1];
  if (raw === undefined) return undefined;
  const parsed = AuditEntryInputSchema.safeParse(JSON.parse(raw));
  return parsed.success ? { id, ...parsed.data } : undefined;
}

function matches(e: AuditEntry, q: ReturnType<typeof AuditQuerySchema.parse>): boolean {
  return (
    (q.kind === undefined || e.kind === q.kind) &&
    (q.app === undefined || e.app === q.app) &&
    (q.env === undefined || e.env === q.env) &&
    (q.run === undefined || e.runId === q.run) &&
    (q.actor === undefined || e.actor === q.actor)
  );
}
