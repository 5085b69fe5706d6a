import { parseArgs } from 'node:util';
import { ConfigInvalid } from '../errors.js';
import type { Command } from './command.js';
import { readConfig } from './runtime.js';

/**
 * `shipgate audit export --since <ISO time|30d> [--kind K] [--app A] [--env E] [--url …]`: the audit
 * trail as JSON lines on stdout, oldest first. It pages through the running server's
 * `GET /api/audit` with SHIPGATE_API_TOKEN (read from the environment, never argv), like
 * `shipgate approve`, so it needs no Redis credentials.
 */
export const auditCommand: Command = {
  name: 'audit',
  summary: 'export the audit trail (approvals, rollbacks, policy versions, gate overrides) as JSON lines',
  usage:
    'shipgate audit export --since <ISO time | 30d | 12h> [--until ISO] [--kind K] [--app A] [--env E] [--url http://127.0.0.1:$PORT]   (needs SHIPGATE_API_TOKEN)',
  examples: [
    'shipgate audit export --since 30d > audit.jsonl',
    'shipgate audit export --since 12h --kind approval --env production',
  ],
  env: ['SHIPGATE_API_TOKEN', 'PORT'],
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        since: { type: 'string' },
        until: { type: 'string' },
        kind: { type: 'string' },
        app: { type: 'string' },
        env: { type: 'string' },
        url: { type: 'string' },
      },
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length !== 1 || positionals[0] !== 'export' || values.since === undefined) {
      console.error(`Usage: ${auditCommand.usage}`);
      return 2;
    }
    const since = sinceTime(values.since, new Date());
    if (since === undefined) {
      console.error(
        `shipgate: --since: expected an ISO time or a duration such as 30d (got ${values.since})`,
      );
      return 2;
    }
    const config = readConfig('cli');
    if (config.apiToken === undefined) {
      throw ConfigInvalid('SHIPGATE_API_TOKEN', 'is required for shipgate audit (it calls the HTTP API)');
    }
    const base = (values.url ?? `http://127.0.0.1:${config.port}`).replace(/\/+$/, '');
    let cursor: string | null = null;
    do {
      const query = new URLSearchParams({ since, limit: '500' });
      for (const key of ['until', 'kind', 'app', 'env'] as const) {
        const value = values[key];
        if (value !== undefined) query.set(key, value);
      }
      if (cursor !== null) query.set('cursor', cursor);
      const response = await fetch(`${base}/api/audit?${query}`, {
        headers: { authorization: `Bearer ${config.apiToken}` },
        signal: AbortSignal.timeout(30_000),
      });
      const body = (await response.json().catch(() => ({}))) as {
        entries?: unknown[];
        nextCursor?: string | null;
        error?: { code: string; message: string };
      };
      if (response.status !== 200 || body.entries === undefined) {
        console.error(
          `shipgate: ${body.error?.message ?? `HTTP ${response.status}`}${body.error ? ` (${body.error.code})` : ''}`,
        );
        return 1;
      }
      for (const entry of body.entries) process.stdout.write(`${JSON.stringify(entry)}\n`);
      cursor = body.nextCursor ?? null;
    } while (cursor !== null);
    return 0;
  },
};

/** An ISO time as given, or `30d`/`12h`/`90m` before `now`, as ISO. */
export function sinceTime(text: string, now: Date): string | undefined {
  const duration = /^(\d{1,6})([dhm])$/.exec(text);
  if (duration) {
    const unit = duration[2] === 'd' ? 86_400_000 : duration[2] === 'h' ? 3_600_000 : 60_000;
    return new Date(now.getTime() - Number(duration[1]) * unit).toISOString();
  }
  return Number.isNaN(Date.parse(text)) ? undefined : new Date(text).toISOString();
}
