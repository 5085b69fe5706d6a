import type { Redis } from 'ioredis';

/** One entry of the run feed: its stream id (the SSE event id) and the run summary as JSON. */
export interface FeedEntry {
  id: string;
  run: string;
}

type Listener = (entry: FeedEntry) => void;

const STREAM_ID = /^\d{1,15}-\d{1,10}$/;

export function isFeedId(value: string): boolean {
  return STREAM_ID.test(value);
}

function entriesOf(raw: Array<[string, string[]]>): FeedEntry[] {
  return raw.map(([id, fields]) => {
    const i = fields.indexOf('run');
    return { id, run: i >= 0 ? (fields[i + 1] ?? '{}') : '{}' };
  });
}

/**
 * Reads the run feed (`<runs prefix>:feed`) for every console client of one server with one
 * blocking connection: a single XREAD loop fans entries out to the listeners, so a hundred open
 * consoles cost one Redis connection, not a hundred. `since` serves Last-Event-ID resumes from
 * the stream itself (non-blocking XRANGE on the shared connection).
 */
export class RunFeedReader {
  private readonly listeners = new Set<Listener>();
  private reader: Redis | undefined;
  private loop: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    /** How long one XREAD blocks; also bounds how long `close` waits. @defaultValue 5000 */
    private readonly blockMs = 5000,
  ) {}

  /** Entries after `id` (exclusive), oldest first, at most `limit`. */
  async since(id: string, limit = 1000): Promise<FeedEntry[]> {
    const raw = (await this.redis.xrange(this.key, `(${id}`, '+', 'COUNT', limit)) as Array<
      [string, string[]]
    >;
    return entriesOf(raw);
  }

  /** Subscribes to new entries; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    this.loop ??= this.run();
    return () => this.listeners.delete(listener);
  }

  private async run(): Promise<void> {
    this.reader = this.redis.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
    let last = '$';
    while (!this.closed) {
      try {
        const reply = (await this.reader.xread('BLOCK', this.blockMs, 'STREAMS', this.key, last)) as Array<
          [string, Array<[string, string[]]>]
        > | null;
        if (reply === null) continue;
        for (const [, raw] of reply) {
          for (const entry of entriesOf(raw)) {
            last = entry.id;
            for (const listener of this.listeners) listener(entry);
          }
        }
      } catch {
        if (this.closed) break;
        // Redis away: wait and resume from the last id seen, so nothing is skipped.
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.reader?.disconnect();
    await this.loop?.catch(() => undefined);
  }
}
