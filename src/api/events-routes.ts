import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { RunFeedReader, isFeedId, type FeedEntry } from '../runs/run-feed.js';

/**
 * `GET /api/events`: Server-Sent Events of run changes, fed by the run feed stream.
 *
 *   event: run   id: <stream id>   data: <the run, as in GET /api/runs>
 *   `Last-Event-ID` (header, or `?lastEventId=` for a first connection) resumes after that entry;
 *   a comment line every 15 s keeps proxies from closing an idle stream. No polling anywhere.
 */
export interface EventsRoutesOptions {
  feed: RunFeedReader;
  requireViewer: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
  /** @defaultValue 15000 */
  heartbeatMs?: number;
}

export function eventsRoutes(options: EventsRoutesOptions): FastifyPluginAsync {
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  return async (app) => {
    const streams = new Set<() => void>();
    // Open streams would hold the server's close forever: end them first, then stop the reader.
    app.addHook('preClose', async () => {
      for (const end of streams) end();
    });
    app.addHook('onClose', async () => options.feed.close());

    app.get(
      '/api/events',
      // The stream stays open for hours: it must not count against the per-client request limit.
      { preHandler: options.requireViewer, config: { apiRateLimit: false } },
      async (request, reply) => {
        const header = request.headers['last-event-id'];
        const query = (request.query ?? {}) as Record<string, unknown>;
        const resumeFrom =
          typeof header === 'string'
            ? header
            : typeof query.lastEventId === 'string'
              ? query.lastEventId
              : undefined;
        const raw = reply.raw;
        reply.hijack();
        raw.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          connection: 'keep-alive',
          // nginx and friends buffer responses unless told not to.
          'x-accel-buffering': 'no',
        });
        raw.write('retry: 3000\n\n');

        let lastSent = resumeFrom !== undefined && isFeedId(resumeFrom) ? resumeFrom : undefined;
        const send = (entry: FeedEntry) => {
          // Entries from the backlog and the live loop can overlap; ids only go forward.
          if (lastSent !== undefined && compareIds(entry.id, lastSent) <= 0) return;
          lastSent = entry.id;
          raw.write(`event: run\nid: ${entry.id}\ndata: ${entry.run}\n\n`);
        };
        // Join the live feed first and hold its entries, then send the backlog, then the held ones:
        // nothing written between the two reads is lost.
        let held: FeedEntry[] | undefined = lastSent !== undefined ? [] : undefined;
        const unsubscribe = options.feed.subscribe((entry) => (held ? held.push(entry) : send(entry)));
        const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), heartbeatMs);
        const stop = () => {
          clearInterval(heartbeat);
          unsubscribe();
          streams.delete(end);
        };
        const end = () => {
          stop();
          raw.end();
        };
        streams.add(end);
        raw.on('close', stop);
        if (held !== undefined && lastSent !== undefined) {
          try {
            for (const entry of await options.feed.since(lastSent)) send(entry);
          } catch (err) {
            request.log.warn({ err }, 'events: could not read the feed backlog');
          }
          const pending: FeedEntry[] = held;
          held = undefined;
          for (const entry of pending) send(entry);
        }
      },
    );
  };
}

/** Stream ids are `<ms>-<seq>`: compare numerically, part by part. */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am !== bm ? am - bm : as - bs;
}
