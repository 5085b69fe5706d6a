import type { RedisClient } from '../redis/connection.js';
import { DeployRecordSchema, type DeployRecord } from './types.js';

/**
 * Written once per run and environment: the marker and the entry go in one script, so a
 * retried deploy job never counts twice. The hash of app/env pairs bounds the label sets the
 * metrics export. The three keys share the Redis Cluster hash tag `{dora}`, so they share a slot.
 */
const APPEND_SCRIPT = `
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) == false then
  return false
end
redis.call('HSETNX', KEYS[3], ARGV[2], '1')
return redis.call('XADD', KEYS[1], 'MINID', '~', ARGV[4], '*', 'd', ARGV[1])
`;

export interface DeployHistoryOptions {
  /** `<queuePrefix>:dora`. */
  prefix: string;
  /** History kept for the measures. @defaultValue 400 days */
  retentionDays?: number;
  now?: () => Date;
}

/**
 * The deploy history the DORA measures are computed from: a Redis stream, so it survives
 * restarts (Redis runs with AOF) and is rebuilt exactly by replaying the AOF. Nothing is kept
 * in process memory: every figure is computed from Redis when asked.
 */
export class DeployHistory {
  private readonly retentionMs: number;
  private readonly now: () => Date;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: DeployHistoryOptions,
  ) {
    this.retentionMs = (options.retentionDays ?? 400) * 86_400_000;
    this.now = options.now ?? (() => new Date());
  }

  private get streamKey(): string {
    return `${this.options.prefix}:{dora}:deploys`;
  }

  private get pairsKey(): string {
    return `${this.options.prefix}:{dora}:pairs`;
  }

  /** Records a deploy once per run and environment; false when it was already recorded. */
  async record(raw: DeployRecord): Promise<boolean> {
    const record = DeployRecordSchema.parse(raw);
    const minId = `${Math.max(0, this.now().getTime() - this.retentionMs)}-0`;
    const id = await this.redis.eval(
      APPEND_SCRIPT,
      3,
      this.streamKey,
      `${this.options.prefix}:{dora}:seen:${record.runId}:${record.env}`,
      this.pairsKey,
      JSON.stringify(record),
      `${record.app}\n${record.env}`,
      String(Math.ceil(this.retentionMs / 1000)),
      minId,
    );
    return id !== null;
  }

  /** Every record kept, oldest first. */
  async all(): Promise<DeployRecord[]> {
    const out: DeployRecord[] = [];
    let start = '-';
    for (;;) {
      const rows = (await this.redis.xrange(this.streamKey, start, '+', 'COUNT', 1000)) as [
        string,
        string[],
      ][];
      for (const [, fields] of rows) {
        const raw = fields[fields.indexOf('d') + 1];
        const parsed = raw === undefined ? undefined : DeployRecordSchema.safeParse(JSON.parse(raw));
        if (parsed?.success) out.push(parsed.data);
      }
      if (rows.length < 1000) return out;
      start = `(${rows[rows.length - 1]![0]}`;
    }
  }

  /** The app/environment pairs ever deployed, at most `limit` (bounded metric labels). */
  async pairs(limit = 200): Promise<{ app: string; env: string }[]> {
    const keys = await this.redis.hkeys(this.pairsKey);
    return keys
      .sort()
      .slice(0, limit)
      .map((k) => {
        const [app, env] = k.split('\n');
        return { app: app!, env: env! };
      });
  }

  /** The tag of the last successful release of `app` in `env` other than `tag`, if any. */
  async previousReleaseTag(app: string, env: string, tag: string): Promise<string | undefined> {
    const rows = (await this.redis.xrevrange(this.streamKey, '+', '-', 'COUNT', 1000)) as [
      string,
      string[],
    ][];
    for (const [, fields] of rows) {
      const raw = fields[fields.indexOf('d') + 1];
      const parsed = raw === undefined ? undefined : DeployRecordSchema.safeParse(JSON.parse(raw));
      if (!parsed?.success) continue;
      const r = parsed.data;
      if (
        r.app === app &&
        r.env === env &&
        r.runKind === 'release' &&
        r.outcome === 'succeeded' &&
        r.tag &&
        r.tag !== tag
      )
        return r.tag;
    }
    return undefined;
  }
}
