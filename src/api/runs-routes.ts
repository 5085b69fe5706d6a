import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { RunNotFound, RunsQueryInvalid } from '../errors.js';
import { isRunId } from '../runs/run-id.js';
import { ListRunsQuerySchema, type RunStore } from '../runs/run-store.js';
import type { Run, RunEvent } from '../runs/run-types.js';
import { buildTimeline, type TimelineStage } from '../runs/run-timeline.js';
import { gateLogStepKey, type GateLog } from '../runs/gate-log.js';

/**
 * The read-only runs API.
 *
 *   GET /api/runs?repo=owner/name&app=web&env=production&state=deploying&kind=release&limit=20&cursor=<id>
 *     200 { runs: Run[], nextCursor: string | null }      newest first
 *     400 SHIPGATE_E_RUNS_QUERY_INVALID                   unknown parameter or bad value
 *   GET /api/runs/:id
 *     200 { run: Run, events: RunEvent[], timeline: TimelineStage[] }   events oldest first
 *         each gate of `run.gates` with its `logTail` (the end of its output, masked and
 *         bounded: src/runs/gate-log.ts) when the gate ran a command; the list leaves it out
 *     404 SHIPGATE_E_RUN_NOT_FOUND
 *
 * Both routes sit behind `requireToken` (401 without a valid bearer token). Errors are
 * thrown as catalogue errors; the server's error handler renders them as
 * `{ error: { code, message } }`.
 */

export interface RunsRoutesOptions {
  store: RunStore;
  /** The bearer-token preHandler; it throws (or replies) when the request is not allowed. */
  requireToken: (request: FastifyRequest, reply: FastifyReply) => Promise<void>;
}

export interface ListRunsResponse {
  runs: Run[];
  nextCursor: string | null;
}

export interface GetRunResponse {
  run: Run;
  events: RunEvent[];
  /** The log folded into ordered stages (see `buildTimeline`). */
  timeline: TimelineStage[];
}

const QuerySchema = z
  .object({
    repo: z.string(),
    app: z.string(),
    env: z.string(),
    state: z.string(),
    kind: z.string(),
    // Query values arrive as text; only plain decimal digits count as a number.
    limit: z
      .string()
      .regex(/^\d{1,3}$/, 'expected an integer')
      .transform(Number),
    cursor: z.string(),
  })
  .partial()
  .strict()
  .pipe(ListRunsQuerySchema);

function describe(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.join('.');
      return where ? `${where}: ${issue.message}` : issue.message;
    })
    .join('; ')
    .slice(0, 300);
}

export function runsRoutes(options: RunsRoutesOptions): FastifyPluginAsync {
  const { store, requireToken } = options;
  return async (app) => {
    app.get('/api/runs', { preHandler: requireToken }, async (request, reply): Promise<ListRunsResponse> => {
      const parsed = QuerySchema.safeParse(request.query ?? {});
      if (!parsed.success) throw RunsQueryInvalid(describe(parsed.error));
      const page = await store.listRuns(parsed.data);
      void reply.header('cache-control', 'no-store');
      return page;
    });

    app.get<{ Params: { id: string } }>(
      '/api/runs/:id',
      { preHandler: requireToken },
      async (request, reply): Promise<GetRunResponse> => {
        const { id } = request.params;
        // An id that is not a ULID cannot name a run; answer without touching Redis.
        const run = isRunId(id) ? await store.getRun(id) : undefined;
        if (!run) throw RunNotFound(id.slice(0, 64));
        const [events, withLogs] = await Promise.all([store.getEvents(id), withGateLogs(store, run)]);
        void reply.header('cache-control', 'no-store');
        return { run: withLogs, events, timeline: buildTimeline(run, events) };
      },
    );
  };
}

/**
 * The run with each gate's stored output tail (`logTail`, `logTruncated`) beside its summary.
 * Only the run's own page pays for them: the list and the event stream carry summaries only.
 */
async function withGateLogs(store: RunStore, run: Run): Promise<Run> {
  const keys = Object.keys(run.gates).filter((key) => /^[a-z]{1,32}$/.test(key));
  if (keys.length === 0) return run;
  const logs = await Promise.all(
    keys.map((key) => store.getStepResult<GateLog>(run.id, gateLogStepKey(key))),
  );
  const gates: Run['gates'] = { ...run.gates };
  keys.forEach((key, i) => {
    const log = logs[i];
    const summary = gates[key];
    if (log === undefined || typeof log.tail !== 'string' || summary === null || typeof summary !== 'object')
      return;
    gates[key] = { ...summary, logTail: log.tail, logTruncated: log.truncated === true };
  });
  return { ...run, gates };
}
