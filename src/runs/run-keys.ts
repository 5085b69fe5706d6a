import type { RunKind, RunState } from './run-types.js';

/**
 * The Redis key layout of the run store and the deploy lock. Every key starts with the
 * configured prefix, so one Redis can hold several installations and each test its own.
 *
 * | key                                   | type   | holds                                         |
 * |---------------------------------------|--------|-----------------------------------------------|
 * | `<p>:run:<id>`                        | hash   | the run record (one field per Run property)   |
 * | `<p>:run:<id>:events`                 | list   | append-only event log, JSON per entry         |
 * | `<p>:run:<id>:event-keys`             | hash   | eventKey → seq, makes appends idempotent      |
 * | `<p>:run:<id>:steps`                  | hash   | stepKey → claimedAt, "do this side effect once" |
 * | `<p>:run:<id>:step-results`           | hash   | stepKey → JSON result of that side effect     |
 * | `<p>:idem:<idempotencyKey>`           | string | run id made for that key                      |
 * | `<p>:idx:all`                         | zset   | every run id (score 0, ordered by id = time)  |
 * | `<p>:idx:repo:<owner/name>`           | zset   | run ids of one repo                           |
 * | `<p>:idx:kind:<kind>`                 | zset   | run ids of one kind                           |
 * | `<p>:idx:state:<state>`               | zset   | run ids currently in one state                |
 * | `<p>:idx:pr:<owner/name>#<number>`    | zset   | run ids of one pull request                   |
 * | `<p>:lock:<app>:<env>`                | string | deploy lock: holder run id, with a lease TTL  |
 * | `<p>:lock:<app>:<env>:waiter`         | hash   | the newest release waiting {runId, order}     |
 * | `<p>:lock:<app>:<env>:high`           | hash   | the newest release that took the lock         |
 * | `<p>:feed`                            | stream | run changes for the console (capped, MAXLEN ~)|
 *
 * The `run:<id>*` keys share one TTL, refreshed on every write to the run (so a terminal
 * run disappears `retention` after its last change). Index entries are pruned lazily when
 * a listing meets an id whose record has expired.
 *
 * The Lua scripts derive the state-index and idempotency key names from the prefix, so the
 * store needs one Redis primary (standalone or Sentinel), not Redis Cluster.
 */
export class RunKeys {
  constructor(readonly prefix: string) {}

  run(id: string): string {
    return `${this.prefix}:run:${id}`;
  }
  events(id: string): string {
    return `${this.prefix}:run:${id}:events`;
  }
  eventKeys(id: string): string {
    return `${this.prefix}:run:${id}:event-keys`;
  }
  steps(id: string): string {
    return `${this.prefix}:run:${id}:steps`;
  }
  stepResults(id: string): string {
    return `${this.prefix}:run:${id}:step-results`;
  }
  /** The five keys every run script takes, in the order the scripts expect. */
  runScriptKeys(id: string): [string, string, string, string, string] {
    return [this.run(id), this.events(id), this.eventKeys(id), this.steps(id), this.stepResults(id)];
  }
  idempotency(key: string): string {
    return `${this.prefix}:idem:${key}`;
  }
  indexAll(): string {
    return `${this.prefix}:idx:all`;
  }
  indexRepo(repo: string): string {
    return `${this.prefix}:idx:repo:${repo}`;
  }
  indexKind(kind: RunKind): string {
    return `${this.prefix}:idx:kind:${kind}`;
  }
  indexState(state: RunState): string {
    return `${this.prefix}:idx:state:${state}`;
  }
  indexPr(repo: string, prNumber: number): string {
    return `${this.prefix}:idx:pr:${repo}#${prNumber}`;
  }
  feed(): string {
    return `${this.prefix}:feed`;
  }
  lock(app: string, env: string): string {
    return `${this.prefix}:lock:${app}:${env}`;
  }
  lockWaiter(app: string, env: string): string {
    return `${this.prefix}:lock:${app}:${env}:waiter`;
  }
  lockHigh(app: string, env: string): string {
    return `${this.prefix}:lock:${app}:${env}:high`;
  }
}
