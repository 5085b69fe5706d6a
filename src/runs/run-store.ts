import type { Redis } from 'ioredis';
import { z } from 'zod';
import { RunInputInvalid, RunNotFound, RunUpdateConflict } from '../errors.js';
import { defineLuaCommand, type LuaCommand } from './lua-command.js';
import { isRunId, newRunId } from './run-id.js';
import { RunKeys } from './run-keys.js';
import { boundedJson, eventFromJson, eventToJson, pairsToObject, runFromHash } from './run-record.js';
import { canTransition, isEnvState, isTerminal, NON_TERMINAL_STATES } from './run-state-machine.js';
import {
  APPEND_EVENT_LUA,
  CLAIM_STEP_LUA,
  CREATE_RUN_LUA,
  RECORD_STEP_RESULT_LUA,
  RELEASE_STEP_LUA,
  TRANSITION_LUA,
  UPDATE_FIELDS_LUA,
} from './run-store-scripts.js';
import {
  ApprovalSchema,
  CreateRunInputSchema,
  EventInputSchema,
  RepoFullName,
  ResourceName,
  RUN_KINDS,
  RUN_LIMITS,
  RUN_STATES,
  UpdateRunFieldsSchema,
  type Approval,
  type CreateRunInput,
  type EventInput,
  type Run,
  type RunEvent,
  type RunFieldsPatch,
  type RunKind,
  type RunState,
} from './run-types.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Entries the run feed keeps (approximately): enough for a console to resume after minutes away. */
export const RUN_FEED_MAXLEN = 10_000;

export interface RunStoreOptions {
  /** Prefix of every key the store writes. */
  prefix: string;
  /** How long a run and its log live after their last change. @defaultValue 30 days */
  retentionMs?: number;
  /**
   * Cap on entries appended with `appendEvent`; later ones are counted in the record's
   * `droppedEvents` field instead. Transition events are always written (there are few).
   * @defaultValue 1000
   */
  maxEventsPerRun?: number;
  /** Clock, read through a function so tests can pin it. @defaultValue Date.now */
  now?: () => number;
}

export interface TransitionInput {
  /** The state(s) the caller believes the run is in; anything else is a `state-mismatch`. */
  from: RunState | readonly RunState[];
  to: RunState;
  /** When set, the run must be at exactly this version. */
  expectedVersion?: number;
  /** Required for deploying/verifying/awaiting-approval; kept on terminal states when omitted. */
  env?: string;
  reason?: string;
  supersededBy?: string;
  /** What the log says about it. @defaultValue `{ type: 'state', message: '<from> → <to>' }` */
  event?: EventInput;
  /**
   * Names this transition for replay: a second call with the same key (a retried job)
   * returns `{ ok: true, replayed: true }` with the current run instead of a mismatch.
   * One key must name one transition (e.g. `<jobId>:to-gating`); the key is checked before
   * the state, so reusing it for another transition would report a false replay.
   */
  eventKey?: string;
}

export type TransitionFailure = 'state-mismatch' | 'not-allowed' | 'version-mismatch';

export type TransitionResult =
  | { ok: true; run: Run; replayed: boolean }
  | { ok: false; reason: TransitionFailure; run: Run }
  | { ok: false; reason: 'not-found'; run: undefined };

export type UpdateFieldsResult =
  | { ok: true; run: Run }
  | { ok: false; reason: 'version-mismatch'; run: Run }
  | { ok: false; reason: 'not-found'; run: undefined };

export type AppendEventResult =
  | { status: 'appended'; seq: number }
  /** The eventKey was used before; `seq` is the entry it made. */
  | { status: 'duplicate'; seq: number }
  /** The log is full (`maxEventsPerRun`); the record's droppedEvents counter went up. */
  | { status: 'dropped' };

export interface ListRunsQuery {
  repo?: string;
  app?: string;
  /** The environment the run is in (or ended in). */
  env?: string;
  state?: RunState;
  kind?: RunKind;
  /** 1–100. @defaultValue 20 */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface ListRunsPage {
  /** Newest first. */
  runs: Run[];
  /**
   * Pass back as `cursor` for the next page; null once the index is exhausted. A page can
   * be short (or, rarely, empty) while the cursor is still non-null.
   */
  nextCursor: string | null;
}

export const ListRunsQuerySchema = z
  .object({
    repo: RepoFullName.optional(),
    app: ResourceName.optional(),
    env: ResourceName.optional(),
    state: z.enum(RUN_STATES).optional(),
    kind: z.enum(RUN_KINDS).optional(),
    limit: z.int().min(1).max(100).optional(),
    cursor: z
      .string()
      .refine((value) => isRunId(value), 'expected a run id')
      .optional(),
  })
  .strict();

const KeyString = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    // Control characters would make keys unreadable in redis-cli and logs.
    .regex(/^[^\p{Cc}]+$/u, 'no control characters');
const IdempotencyKeySchema = KeyString(RUN_LIMITS.idempotencyKeyChars);
const EventKeySchema = KeyString(RUN_LIMITS.eventKeyChars);
const StepKeySchema = KeyString(RUN_LIMITS.stepKeyChars);

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw RunInputInvalid(`${what}: ${z.prettifyError(result.error)}`);
  return result.data;
}

/** Scan budget of one `listRuns` call, so a rare filter combination cannot walk a huge index. */
const LIST_BATCH = 100;
const LIST_MAX_SCANNED = 1000;

/**
 * Runs and their event logs in Redis. Every write is one Lua script, so a run's state, its
 * version, its indexes and its log always change together; a job that dies between two
 * calls leaves a consistent record, and a job that runs twice cannot move a run twice.
 */
export class RunStore {
  readonly keys: RunKeys;
  readonly retentionMs: number;
  private readonly maxEventsPerRun: number;
  private readonly now: () => number;
  private readonly createCmd: LuaCommand;
  private readonly transitionCmd: LuaCommand;
  private readonly appendCmd: LuaCommand;
  private readonly updateCmd: LuaCommand;
  private readonly claimCmd: LuaCommand;
  private readonly releaseStepCmd: LuaCommand;
  private readonly recordResultCmd: LuaCommand;

  constructor(
    private readonly redis: Redis,
    options: RunStoreOptions,
  ) {
    if (!options.prefix) throw RunInputInvalid('RunStore needs a key prefix');
    this.keys = new RunKeys(options.prefix);
    this.retentionMs = options.retentionMs ?? 30 * DAY_MS;
    this.maxEventsPerRun = options.maxEventsPerRun ?? 1000;
    this.now = options.now ?? Date.now;
    this.createCmd = defineLuaCommand(redis, 'shipgateRunCreateV1', 5, CREATE_RUN_LUA);
    this.transitionCmd = defineLuaCommand(redis, 'shipgateRunTransitionV1', 5, TRANSITION_LUA);
    this.appendCmd = defineLuaCommand(redis, 'shipgateRunAppendEventV1', 5, APPEND_EVENT_LUA);
    this.updateCmd = defineLuaCommand(redis, 'shipgateRunUpdateFieldsV1', 5, UPDATE_FIELDS_LUA);
    this.claimCmd = defineLuaCommand(redis, 'shipgateRunClaimStepV1', 5, CLAIM_STEP_LUA);
    this.releaseStepCmd = defineLuaCommand(redis, 'shipgateRunReleaseStepV1', 5, RELEASE_STEP_LUA);
    this.recordResultCmd = defineLuaCommand(redis, 'shipgateRunRecordStepV1', 5, RECORD_STEP_RESULT_LUA);
  }

  /**
   * Announces a changed run on the run feed (`<prefix>:feed`, a capped stream read by the
   * console's event stream). Best effort: the change itself is already stored, and the
   * console re-reads the run on its next page load; a feed write never fails the change.
   */
  private publish(run: Run): void {
    this.redis
      .xadd(this.keys.feed(), 'MAXLEN', '~', RUN_FEED_MAXLEN, '*', 'run', JSON.stringify(run))
      .catch(() => undefined);
  }

  private isoNow(): string {
    return new Date(this.now()).toISOString();
  }

  /**
   * Creates a queued run, or returns the live run already made for `idempotencyKey`
   * (`created: false`). Keys used by the pipeline: `release:<repo>:<tag>` (so a tag's
   * `push` and `create` deliveries make one run) and `pr:<repo>:<number>:<sha>`.
   */
  async createRun(
    input: CreateRunInput,
    options: { idempotencyKey: string },
  ): Promise<{ run: Run; created: boolean }> {
    const data = parse(CreateRunInputSchema, input, 'createRun input');
    const idempotencyKey = parse(IdempotencyKeySchema, options.idempotencyKey, 'idempotencyKey');
    const nowMs = this.now();
    const at = new Date(nowMs).toISOString();
    const id = newRunId(nowMs);
    const fields: Record<string, string> = {
      id,
      kind: data.kind,
      repo: data.repo,
      installationId: String(data.installationId),
      sha: data.sha,
      ref: data.ref,
      releaser: data.releaser,
      state: 'queued',
      createdAt: at,
      updatedAt: at,
      version: '1',
      idempotencyKey,
    };
    if (data.tag !== undefined) fields.tag = data.tag;
    if (data.prNumber !== undefined) fields.prNumber = String(data.prNumber);
    if (data.app !== undefined) fields.app = data.app;
    if (data.gates !== undefined) fields.gates = boundedJson('gates', data.gates, RUN_LIMITS.gatesBytes);
    const createdEvent = eventToJson(
      {
        type: 'created',
        message: `${data.kind} run created for ${data.repo}@${data.tag ?? data.ref}`,
        data: { sha: data.sha, ref: data.ref, releaser: data.releaser },
      },
      at,
    );
    const prSuffix = data.kind === 'pr' && data.prNumber !== undefined ? `${data.repo}#${data.prNumber}` : '';
    const reply = (await this.createCmd(
      ...this.keys.runScriptKeys(id),
      this.keys.prefix,
      idempotencyKey,
      id,
      this.retentionMs,
      createdEvent,
      data.repo,
      data.kind,
      prSuffix,
      ...Object.entries(fields).flat(),
    )) as [number, unknown];
    const created = { run: runFromHash(pairsToObject(reply[1])), created: reply[0] === 1 };
    if (created.created) this.publish(created.run);
    return created;
  }

  async getRun(id: string): Promise<Run | undefined> {
    if (!isRunId(id)) return undefined;
    const hash = await this.redis.hgetall(this.keys.run(id));
    return Object.keys(hash).length === 0 ? undefined : runFromHash(hash);
  }

  /** Like getRun, but a missing run is a RunNotFound error. */
  async requireRun(id: string): Promise<Run> {
    const run = await this.getRun(id);
    if (!run) throw RunNotFound(id);
    return run;
  }

  /**
   * Newest first. Reads the smallest index that matches one filter and checks the others
   * on the records; ids whose record expired are removed from that index on the way. One
   * call scans at most 1000 index entries, so a page can come back short with a non-null
   * `nextCursor`: keep following the cursor until it is null.
   */
  async listRuns(query: ListRunsQuery = {}): Promise<ListRunsPage> {
    const q = parse(ListRunsQuerySchema, query, 'listRuns query');
    const limit = q.limit ?? 20;
    const candidates: string[] = [];
    if (q.state) candidates.push(this.keys.indexState(q.state));
    if (q.repo) candidates.push(this.keys.indexRepo(q.repo));
    if (q.kind) candidates.push(this.keys.indexKind(q.kind));
    let index = this.keys.indexAll();
    if (candidates.length === 1) index = candidates[0]!;
    if (candidates.length > 1) {
      const sizes = await Promise.all(candidates.map((key) => this.redis.zcard(key)));
      index = candidates[sizes.indexOf(Math.min(...sizes))]!;
    }
    const matches = (run: Run): boolean =>
      (!q.state || run.state === q.state) &&
      (!q.repo || run.repo === q.repo) &&
      (!q.kind || run.kind === q.kind) &&
      (!q.app || run.app === q.app) &&
      (!q.env || run.currentEnv === q.env);

    const runs: Run[] = [];
    let start = q.cursor ? `(${q.cursor}` : '+';
    let scanned = 0;
    for (;;) {
      const ids = await this.redis.zrange(index, start, '-', 'BYLEX', 'REV', 'LIMIT', 0, LIST_BATCH);
      if (ids.length === 0) return { runs, nextCursor: null };
      const pipeline = this.redis.pipeline();
      for (const id of ids) pipeline.hgetall(this.keys.run(id));
      const hashes = (await pipeline.exec()) ?? [];
      const expired: string[] = [];
      for (let i = 0; i < ids.length; i += 1) {
        const id = ids[i]!;
        const [err, hash] = hashes[i] ?? [null, {}];
        if (err) throw err;
        scanned += 1;
        const fields = hash as Record<string, string>;
        if (Object.keys(fields).length === 0) {
          expired.push(id);
        } else {
          const run = runFromHash(fields);
          if (matches(run)) runs.push(run);
        }
        if (runs.length === limit) {
          await this.prune(index, expired);
          return { runs, nextCursor: id };
        }
      }
      await this.prune(index, expired);
      const last = ids[ids.length - 1]!;
      if (ids.length < LIST_BATCH) return { runs, nextCursor: null };
      if (scanned >= LIST_MAX_SCANNED) return { runs, nextCursor: last };
      start = `(${last}`;
    }
  }

  private async prune(index: string, ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.zrem(index, ...ids);
  }

  /**
   * Compare-and-set of the run's state, in one Lua step that also bumps `version`, moves the
   * state index entry and appends the transition to the event log. Fails without writing
   * when the run is not in `from` (`state-mismatch`), not at `expectedVersion`
   * (`version-mismatch`), or the table forbids the edge (`not-allowed`).
   */
  async transition(id: string, input: TransitionInput): Promise<TransitionResult> {
    const from = (Array.isArray(input.from) ? input.from : [input.from]) as RunState[];
    const to = parse(z.enum(RUN_STATES), input.to, 'to');
    for (const state of from) parse(z.enum(RUN_STATES), state, 'from');
    if (from.length === 0) throw RunInputInvalid('transition needs at least one from state');
    const env = input.env === undefined ? undefined : parse(ResourceName, input.env, 'env');
    if (isEnvState(to) && env === undefined) throw RunInputInvalid(`${to} needs an env`);
    const envAction = env !== undefined ? `set:${env}` : isTerminal(to) ? 'keep' : 'clear';
    if (input.expectedVersion !== undefined)
      parse(z.int().positive(), input.expectedVersion, 'expectedVersion');
    const eventKey = input.eventKey === undefined ? '' : parse(EventKeySchema, input.eventKey, 'eventKey');
    const reason =
      input.reason === undefined ? '' : parse(z.string().max(RUN_LIMITS.reasonChars), input.reason, 'reason');
    if (input.supersededBy !== undefined && !isRunId(input.supersededBy)) {
      throw RunInputInvalid('supersededBy must be a run id');
    }
    const event = parse(
      EventInputSchema,
      input.event ?? {
        type: 'state',
        message: `${from.length === 1 ? `${from[0]} ` : ''}→ ${to}${env ? ` (${env})` : ''}`,
      },
      'event',
    );
    const at = this.isoNow();
    if (!isRunId(id)) return { ok: false, reason: 'not-found', run: undefined };
    const reply = (await this.transitionCmd(
      ...this.keys.runScriptKeys(id),
      this.keys.prefix,
      from.join(','),
      from.filter((state) => canTransition(state, to)).join(','),
      to,
      input.expectedVersion ?? '',
      envAction,
      at,
      eventToJson(event, at, env === undefined ? { to } : { to, env }),
      eventKey,
      this.retentionMs,
      reason,
      input.supersededBy ?? '',
    )) as [string, unknown];
    const status = reply[0];
    if (status === 'not-found') return { ok: false, reason: 'not-found', run: undefined };
    const run = runFromHash(pairsToObject(reply[1]));
    if (status === 'ok') this.publish(run);
    if (status === 'ok' || status === 'replayed') return { ok: true, run, replayed: status === 'replayed' };
    return { ok: false, reason: status as TransitionFailure, run };
  }

  /**
   * Appends to the run's log. With an `eventKey`, a second append of the same key is a
   * no-op that reports the first entry's seq. Throws RunNotFound for an unknown run.
   */
  async appendEvent(
    id: string,
    event: EventInput,
    options: { eventKey?: string } = {},
  ): Promise<AppendEventResult> {
    const input = parse(EventInputSchema, event, 'event');
    const eventKey =
      options.eventKey === undefined ? '' : parse(EventKeySchema, options.eventKey, 'eventKey');
    if (!isRunId(id)) throw RunNotFound(id);
    const reply = (await this.appendCmd(
      ...this.keys.runScriptKeys(id),
      this.keys.prefix,
      eventToJson(input, this.isoNow()),
      eventKey,
      this.retentionMs,
      this.maxEventsPerRun,
    )) as [string, number];
    if (reply[0] === 'not-found') throw RunNotFound(id);
    if (reply[0] === 'dropped') return { status: 'dropped' };
    if (reply[0] === 'appended') {
      // The timeline grew: the console's run page follows the feed.
      void this.getRun(id)
        .then((run) => run && this.publish(run))
        .catch(() => undefined);
    }
    return { status: reply[0] as 'appended' | 'duplicate', seq: Number(reply[1]) };
  }

  /** The run's log, oldest first. Empty for an unknown run. */
  async getEvents(id: string): Promise<RunEvent[]> {
    if (!isRunId(id)) return [];
    const entries = await this.redis.lrange(this.keys.events(id), 0, -1);
    return entries.map((raw, i) => eventFromJson(id, raw, i + 1));
  }

  /**
   * Replaces bounded fields (gates summary, approvals, app, reason) as one CAS step.
   * Use `expectedVersion` for read-modify-write (see addApproval).
   */
  async updateRunFields(
    id: string,
    patch: RunFieldsPatch,
    options: { expectedVersion?: number } = {},
  ): Promise<UpdateFieldsResult> {
    const data = parse(UpdateRunFieldsSchema, patch, 'run fields');
    const fields: string[] = [];
    if (data.gates !== undefined)
      fields.push('gates', boundedJson('gates', data.gates, RUN_LIMITS.gatesBytes));
    if (data.approvals !== undefined) fields.push('approvals', JSON.stringify(data.approvals));
    if (data.app !== undefined) fields.push('app', data.app);
    if (data.reason !== undefined) fields.push('reason', data.reason);
    if (!isRunId(id)) return { ok: false, reason: 'not-found', run: undefined };
    const reply = (await this.updateCmd(
      ...this.keys.runScriptKeys(id),
      this.keys.prefix,
      options.expectedVersion ?? '',
      this.isoNow(),
      this.retentionMs,
      ...fields,
    )) as [string, unknown];
    if (reply[0] === 'not-found') return { ok: false, reason: 'not-found', run: undefined };
    const run = runFromHash(pairsToObject(reply[1]));
    if (reply[0] === 'ok') this.publish(run);
    return reply[0] === 'ok' ? { ok: true, run } : { ok: false, reason: 'version-mismatch', run };
  }

  /**
   * Records one approval decision, at most one per (env, Slack user): a second click by the
   * same person is `added: false`. Retries the CAS when another approver wrote meanwhile.
   */
  async addApproval(id: string, approval: Approval, maxAttempts = 10): Promise<{ run: Run; added: boolean }> {
    const entry = parse(ApprovalSchema, approval, 'approval');
    for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
      const run = await this.requireRun(id);
      const seen = run.approvals.some((a) => a.env === entry.env && a.slackUserId === entry.slackUserId);
      if (seen) return { run, added: false };
      const result = await this.updateRunFields(
        id,
        { approvals: [...run.approvals, entry] },
        { expectedVersion: run.version },
      );
      if (result.ok) return { run: result.run, added: true };
      if (result.reason === 'not-found') throw RunNotFound(id);
    }
    throw RunUpdateConflict(id, maxAttempts);
  }

  /**
   * Moves every non-terminal run of this PR that is older than `newRunId` (ids sort by
   * creation) to `superseded`. Returns the ids superseded by `newRunId`, including ones a
   * previous call already superseded, so a retried job cancels the same jobs again. A run
   * already past the point of superseding (terminal) is left alone.
   */
  async supersedeOlderPrRuns(repo: string, prNumber: number, newRunId: string): Promise<string[]> {
    parse(RepoFullName, repo, 'repo');
    parse(z.int().positive(), prNumber, 'prNumber');
    if (!isRunId(newRunId)) throw RunInputInvalid('newRunId must be a run id');
    const index = this.keys.indexPr(repo, prNumber);
    const older = await this.redis.zrange(index, `(${newRunId}`, '-', 'BYLEX', 'REV');
    const superseded: string[] = [];
    const expired: string[] = [];
    for (const id of older) {
      const result = await this.transition(id, {
        from: NON_TERMINAL_STATES,
        to: 'superseded',
        supersededBy: newRunId,
        reason: `superseded by run ${newRunId}`,
        event: {
          type: 'superseded',
          message: `a newer push started run ${newRunId}`,
          data: { by: newRunId },
        },
        eventKey: `superseded-by:${newRunId}`,
      });
      if (result.ok) {
        if (result.run.supersededBy === newRunId) superseded.push(id);
      } else if (result.reason === 'not-found') {
        expired.push(id);
      }
    }
    await this.prune(index, expired);
    return superseded;
  }

  /**
   * "Do this side effect once" for a run: true for exactly one caller per (run, stepKey).
   * The claim lives as long as the run. A claim without a recorded result means an earlier
   * attempt died during the step: the caller must reconcile with the outside world (e.g.
   * look for the `Shipgate-Run` trailer in the env repo) rather than act blindly.
   * Throws RunNotFound for an unknown run.
   */
  async claimStep(runId: string, stepKey: string): Promise<boolean> {
    const key = parse(StepKeySchema, stepKey, 'stepKey');
    if (!isRunId(runId)) throw RunNotFound(runId);
    const reply = Number(
      await this.claimCmd(
        ...this.keys.runScriptKeys(runId),
        this.keys.prefix,
        key,
        this.isoNow(),
        this.retentionMs,
      ),
    );
    if (reply === -1) throw RunNotFound(runId);
    return reply === 1;
  }

  /**
   * Gives a claim back when the caller knows the side effect did not happen (the request
   * was refused before it was sent), so a retry may claim it again. A step with a recorded
   * result cannot be released. Returns whether a claim was dropped.
   */
  async releaseStep(runId: string, stepKey: string): Promise<boolean> {
    const key = parse(StepKeySchema, stepKey, 'stepKey');
    if (!isRunId(runId)) return false;
    return Number(await this.releaseStepCmd(...this.keys.runScriptKeys(runId), this.keys.prefix, key)) === 1;
  }

  /** Saves what a step produced (a commit sha, a check run id) for a retry to reuse. */
  async recordStepResult(runId: string, stepKey: string, result: unknown): Promise<void> {
    const key = parse(StepKeySchema, stepKey, 'stepKey');
    const json = boundedJson(`result of step ${key}`, result, RUN_LIMITS.stepResultBytes);
    if (!isRunId(runId)) throw RunNotFound(runId);
    const reply = Number(
      await this.recordResultCmd(
        ...this.keys.runScriptKeys(runId),
        this.keys.prefix,
        key,
        json,
        this.isoNow(),
        this.retentionMs,
      ),
    );
    if (reply === -1) throw RunNotFound(runId);
  }

  /** The recorded result of a step, or undefined when none was recorded. */
  async getStepResult<T = unknown>(runId: string, stepKey: string): Promise<T | undefined> {
    const key = parse(StepKeySchema, stepKey, 'stepKey');
    if (!isRunId(runId)) return undefined;
    const raw = await this.redis.hget(this.keys.stepResults(runId), key);
    return raw === null ? undefined : (JSON.parse(raw) as T);
  }
}
