import { RUN_STATES, type RunKind, type RunState } from './run-types.js';

/**
 * The Redis key layout of the run store and the deploy lock. Every key starts with the
 * configured prefix, so one Redis can hold several installations and each test its own.
 * The part in braces is the Redis Cluster hash tag: keys with the same tag live in one slot,
 * so one Lua script may touch them together (on a single Redis the braces mean nothing).
 *
 * | key                                     | type   | holds                                         |
 * |-----------------------------------------|--------|-----------------------------------------------|
 * | `<p>:{run:<id>}`                        | hash   | the run record (one field per Run property)   |
 * | `<p>:{run:<id>}:events`                 | list   | append-only event log, JSON per entry         |
 * | `<p>:{run:<id>}:event-keys`             | hash   | eventKey → seq, makes appends idempotent      |
 * | `<p>:{run:<id>}:steps`                  | hash   | stepKey → claimedAt, "do this side effect once" |
 * | `<p>:{run:<id>}:step-results`           | hash   | stepKey → JSON result of that side effect     |
 * | `<p>:{idx}:idem:<idempotencyKey>`       | string | run id made for that key                      |
 * | `<p>:{idx}:all`                         | zset   | every run id (score 0, ordered by id = time)  |
 * | `<p>:{idx}:repo:<owner/name>`           | zset   | run ids of one repo                           |
 * | `<p>:{idx}:kind:<kind>`                 | zset   | run ids of one kind                           |
 * | `<p>:{idx}:state:<state>`               | zset   | run ids currently in one state                |
 * | `<p>:{idx}:pr:<owner/name>#<number>`    | zset   | run ids of one pull request                   |
 * | `<p>:{idx}:version`                     | hash   | run id → the run version the indexes show     |
 * | `<p>:{lock:<app>:<env>}`                | string | deploy lock: holder run id, with a lease TTL  |
 * | `<p>:{lock:<app>:<env>}:waiter`         | hash   | the newest release waiting {runId, order}     |
 * | `<p>:{lock:<app>:<env>}:high`           | hash   | the newest release that took the lock         |
 * | `<p>:recovery:epoch`                    | string | when Shipgate first saw this Redis (src/recovery) |
 * | `<p>:recovery:reported`                 | hash   | lost run id → when it was reported lost       |
 * | `<p>:live`                              | string | JSON: what is live per app/env, from the env repo |
 * | `<p>:feed`                              | stream | run changes for the console (capped, MAXLEN ~)|
 *
 * A run's keys share the tag `{run:<id>}`, so each run script is atomic on one slot. The
 * indexes and idempotency keys share `{idx}`: they are global, so no script can write them
 * together with a run on a cluster. Writes therefore go in steps, each single-slot and safe
 * to repeat: claim the idempotency key → write the run → index it. The index step carries the
 * run's version and is ignored when the indexes already show a newer one, so steps that
 * arrive late or twice cannot move an index backwards (see RunStore).
 *
 * The `run:<id>*` keys share one TTL, refreshed on every write to the run (so a terminal
 * run disappears `retention` after its last change). Index entries are pruned lazily when
 * a listing meets an id whose record has expired.
 */
export class RunKeys {
  constructor(readonly prefix: string) {}

  run(id: string): string {
    return `${this.prefix}:{run:${id}}`;
  }
  events(id: string): string {
    return `${this.run(id)}:events`;
  }
  eventKeys(id: string): string {
    return `${this.run(id)}:event-keys`;
  }
  steps(id: string): string {
    return `${this.run(id)}:steps`;
  }
  stepResults(id: string): string {
    return `${this.run(id)}:step-results`;
  }
  /** The five keys every run script takes, in the order the scripts expect. */
  runScriptKeys(id: string): [string, string, string, string, string] {
    return [this.run(id), this.events(id), this.eventKeys(id), this.steps(id), this.stepResults(id)];
  }
  private idx(): string {
    return `${this.prefix}:{idx}`;
  }
  idempotency(key: string): string {
    return `${this.idx()}:idem:${key}`;
  }
  indexAll(): string {
    return `${this.idx()}:all`;
  }
  indexRepo(repo: string): string {
    return `${this.idx()}:repo:${repo}`;
  }
  indexKind(kind: RunKind): string {
    return `${this.idx()}:kind:${kind}`;
  }
  indexState(state: RunState): string {
    return `${this.idx()}:state:${state}`;
  }
  /** Every state index, in RUN_STATES order (the index script takes them all as KEYS). */
  indexStates(): string[] {
    return RUN_STATES.map((state) => this.indexState(state));
  }
  indexPr(repo: string, prNumber: number): string {
    return `${this.idx()}:pr:${repo}#${prNumber}`;
  }
  indexVersion(): string {
    return `${this.idx()}:version`;
  }
  feed(): string {
    return `${this.prefix}:feed`;
  }
  lock(app: string, env: string): string {
    return `${this.prefix}:{lock:${app}:${env}}`;
  }
  lockWaiter(app: string, env: string): string {
    return `${this.lock(app, env)}:waiter`;
  }
  lockHigh(app: string, env: string): string {
    return `${this.lock(app, env)}:high`;
  }
  /** Absent on a Redis Shipgate has never seen, or one that lost its data. */
  recoveryEpoch(): string {
    return `${this.prefix}:recovery:epoch`;
  }
  recoveryReported(): string {
    return `${this.prefix}:recovery:reported`;
  }
  liveState(): string {
    return `${this.prefix}:live`;
  }
}
