import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RunInputInvalid, RunNotFound } from '../../../src/errors.js';
import { RunStore } from '../../../src/runs/run-store.js';
import type { CreateRunInput, Run } from '../../../src/runs/run-types.js';
import { clusterKeySlot } from '../../support/key-slot.js';
import { deleteKeysWithPrefix, keysWithPrefix, testRedis, uniquePrefix } from '../../support/redis.js';
import type { RedisClient } from '../../../src/redis/connection.js';

const SHA_A = 'a'.repeat(40);
const SHA_B = 'b'.repeat(40);
const SHA_C = 'c'.repeat(40);

const release = (tag = 'v1.2.3'): CreateRunInput => ({
  kind: 'release',
  repo: 'acme/shop',
  installationId: 4242,
  sha: SHA_A,
  ref: `refs/tags/${tag}`,
  tag,
  app: 'shop',
  releaser: 'octocat',
});

const pr = (prNumber: number, sha: string, repo = 'acme/shop'): CreateRunInput => ({
  kind: 'pr',
  repo,
  installationId: 4242,
  sha,
  ref: 'refs/heads/feature',
  prNumber,
  releaser: 'hubot',
});

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('RunStore (real Redis)', () => {
  let prefix: string;
  let connections: RedisClient[];
  let store: RunStore;
  /** Stores on separate connections, so concurrent calls really interleave in Redis. */
  let stores: RunStore[];

  const storeOn = (redis: RedisClient, retentionMs?: number, maxEventsPerRun?: number): RunStore =>
    new RunStore(redis, { prefix, retentionMs, maxEventsPerRun });

  beforeEach(async () => {
    prefix = uniquePrefix('runs');
    connections = Array.from({ length: 5 }, () => testRedis());
    stores = connections.map((redis) => storeOn(redis));
    store = stores[0]!;
  });

  afterEach(async () => {
    for (const redis of connections) redis.disconnect();
    await deleteKeysWithPrefix(prefix);
  });

  const redis = (): RedisClient => connections[0]!;

  describe('createRun', () => {
    it('creates a queued run at version 1 with a created event, and reads it back', async () => {
      const { run, created } = await store.createRun(release(), {
        idempotencyKey: 'release:acme/shop:v1.2.3',
      });
      expect(created).toBe(true);
      expect(run).toMatchObject({
        kind: 'release',
        repo: 'acme/shop',
        installationId: 4242,
        tag: 'v1.2.3',
        state: 'queued',
        version: 1,
        gates: {},
        approvals: [],
      });
      expect(run.createdAt).toBe(run.updatedAt);
      expect(await store.getRun(run.id)).toEqual(run);
      const events = await store.getEvents(run.id);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ seq: 1, type: 'created' });
      const keys = await keysWithPrefix(prefix);
      expect(keys.every((key) => key.startsWith(`${prefix}:`))).toBe(true);
    });

    it('makes exactly one run for one idempotency key under concurrency (tag push + create pair)', async () => {
      const attempts = Array.from({ length: 40 }, (_, i) =>
        stores[i % stores.length]!.createRun(release(), { idempotencyKey: 'release:acme/shop:v1.2.3' }),
      );
      const results = await Promise.all(attempts);
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.run.id)).size).toBe(1);
      expect(await redis().zcard(store.keys.indexAll())).toBe(1);
      expect(await redis().zcard(store.keys.indexState('queued'))).toBe(1);
      expect(await store.getEvents(results[0]!.run.id)).toHaveLength(1);
    });

    it('returns the same run, in its current state, for a later duplicate', async () => {
      const first = await store.createRun(release(), { idempotencyKey: 'k1' });
      await store.transition(first.run.id, { from: 'queued', to: 'gating' });
      const again = await store.createRun(release(), { idempotencyKey: 'k1' });
      expect(again).toMatchObject({ created: false, run: { id: first.run.id, state: 'gating', version: 2 } });
      const other = await store.createRun(release('v1.2.4'), { idempotencyKey: 'k2' });
      expect(other.created).toBe(true);
      expect(other.run.id).not.toBe(first.run.id);
    });

    it('refuses invalid input with a typed error', async () => {
      const bad: CreateRunInput[] = [
        { ...release(), repo: 'not a repo' },
        { ...release(), sha: 'abc' },
        { ...release(), tag: undefined },
        { ...pr(1, SHA_A), prNumber: undefined },
        { ...release(), app: 'shop:prod' },
      ];
      for (const input of bad) {
        await expect(store.createRun(input, { idempotencyKey: 'x' })).rejects.toMatchObject({
          code: RunInputInvalid.code,
        });
      }
      await expect(store.createRun(release(), { idempotencyKey: '' })).rejects.toMatchObject({
        code: RunInputInvalid.code,
      });
      expect(await keysWithPrefix(prefix)).toEqual([]);
    });
  });

  describe('steps across slots (Redis Cluster layout)', () => {
    it('completes a run whose creator died after claiming its idempotency key', async () => {
      // The creator's first step landed (the key names an id), its second never did.
      const orphan = '01JAAAAAAAAAAAAAAAAAAAAAAA';
      await redis().set(store.keys.idempotency('release:acme/shop:v9'), orphan, 'PX', 60_000);
      const results = await Promise.all(
        stores.map((s) => s.createRun(release('v9'), { idempotencyKey: 'release:acme/shop:v9' })),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.run.id))).toEqual(new Set([orphan]));
      expect(await redis().zscore(store.keys.indexAll(), orphan)).not.toBeNull();
      expect(await redis().zscore(store.keys.indexState('queued'), orphan)).not.toBeNull();
      expect(await store.getEvents(orphan)).toHaveLength(1);
    });

    it('repairs a state index left behind by a writer that died between the steps', async () => {
      const { run } = await store.createRun(release(), { idempotencyKey: 'behind' });
      await store.transition(run.id, { from: 'queued', to: 'gating' });
      // What a crash between the record and its index leaves: the index still says queued.
      await redis().zrem(store.keys.indexState('gating'), run.id);
      await redis().zadd(store.keys.indexState('queued'), 0, run.id);
      await redis().hset(store.keys.indexVersion(), run.id, 1);
      expect((await store.listRuns({ state: 'queued' })).runs).toEqual([]);
      expect(await redis().zscore(store.keys.indexState('gating'), run.id)).not.toBeNull();
      expect(await redis().zscore(store.keys.indexState('queued'), run.id)).toBeNull();
      expect((await store.listRuns({ state: 'gating' })).runs.map((r) => r.id)).toEqual([run.id]);
    });

    it('ignores a late index step of an older transition', async () => {
      const { run } = await store.createRun(release(), { idempotencyKey: 'late' });
      await store.transition(run.id, { from: 'queued', to: 'gating' });
      await store.transition(run.id, { from: 'gating', to: 'succeeded' });
      // A replay of the first transition (version 2) arrives after the second (version 3).
      const replay = await store.transition(run.id, { from: 'queued', to: 'gating' });
      expect(replay.ok).toBe(false);
      const replayed = await store.transition(run.id, {
        from: 'queued',
        to: 'gating',
        eventKey: 'never-used',
      });
      expect(replayed.ok).toBe(false);
      expect(await redis().zscore(store.keys.indexState('succeeded'), run.id)).not.toBeNull();
      expect(await redis().zscore(store.keys.indexState('gating'), run.id)).toBeNull();
      expect(Number(await redis().hget(store.keys.indexVersion(), run.id))).toBe(3);
    });

    it('keeps every multi-key script on one Redis Cluster slot', async () => {
      const { run } = await store.createRun(pr(3, SHA_A), { idempotencyKey: 'slots' });
      const slot = (key: string) => clusterKeySlot(key);
      const runSlots = new Set(store.keys.runScriptKeys(run.id).map(slot));
      expect(runSlots.size).toBe(1);
      const indexKeys = [
        store.keys.indexVersion(),
        store.keys.idempotency('slots'),
        store.keys.indexAll(),
        store.keys.indexRepo('acme/shop'),
        store.keys.indexKind('pr'),
        store.keys.indexPr('acme/shop', 3),
        ...store.keys.indexStates(),
      ];
      expect(new Set(indexKeys.map(slot)).size).toBe(1);
      const lock = [
        store.keys.lock('shop', 'prod'),
        store.keys.lockWaiter('shop', 'prod'),
        store.keys.lockHigh('shop', 'prod'),
      ];
      expect(new Set(lock.map(slot)).size).toBe(1);
    });
  });

  describe('transition', () => {
    let run: Run;
    beforeEach(async () => {
      run = (await store.createRun(release(), { idempotencyKey: 'r' })).run;
    });

    it('lets exactly one of 50 concurrent identical transitions through', async () => {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          stores[i % stores.length]!.transition(run.id, { from: 'queued', to: 'gating' }),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(1);
      expect(results.filter((r) => !r.ok && r.reason === 'state-mismatch')).toHaveLength(49);
      const after = await store.getRun(run.id);
      expect(after).toMatchObject({ state: 'gating', version: 2 });
      const transitions = (await store.getEvents(run.id)).filter((e) => e.transition);
      expect(transitions).toHaveLength(1);
      expect(transitions[0]!.transition).toEqual({ from: 'queued', to: 'gating' });
      expect(await redis().zscore(store.keys.indexState('queued'), run.id)).toBeNull();
      expect(await redis().zscore(store.keys.indexState('gating'), run.id)).not.toBeNull();
    });

    it('reports state-mismatch, not-allowed, version-mismatch and not-found without writing', async () => {
      const mismatch = await store.transition(run.id, { from: 'gating', to: 'deploying', env: 'staging' });
      expect(mismatch).toMatchObject({ ok: false, reason: 'state-mismatch', run: { state: 'queued' } });
      const forbidden = await store.transition(run.id, { from: 'queued', to: 'verifying', env: 'staging' });
      expect(forbidden).toMatchObject({ ok: false, reason: 'not-allowed', run: { state: 'queued' } });
      const stale = await store.transition(run.id, { from: 'queued', to: 'gating', expectedVersion: 7 });
      expect(stale).toMatchObject({ ok: false, reason: 'version-mismatch', run: { version: 1 } });
      const missing = await store.transition('01JAAAAAAAAAAAAAAAAAAAAAAA', { from: 'queued', to: 'gating' });
      expect(missing).toEqual({ ok: false, reason: 'not-found', run: undefined });
      expect(await store.getRun(run.id)).toEqual(run);
      expect(await store.getEvents(run.id)).toHaveLength(1);
      const good = await store.transition(run.id, { from: 'queued', to: 'gating', expectedVersion: 1 });
      expect(good).toMatchObject({ ok: true, replayed: false, run: { version: 2 } });
    });

    it('requires an env for env states, keeps it on terminal states and clears it otherwise', async () => {
      await expect(store.transition(run.id, { from: 'queued', to: 'deploying' })).rejects.toMatchObject({
        code: RunInputInvalid.code,
      });
      await store.transition(run.id, { from: 'queued', to: 'gating' });
      let r = await store.transition(run.id, { from: 'gating', to: 'deploying', env: 'staging' });
      expect(r.ok && r.run.currentEnv).toBe('staging');
      r = await store.transition(run.id, { from: 'deploying', to: 'verifying', env: 'staging' });
      r = await store.transition(run.id, {
        from: ['verifying'],
        to: 'awaiting-approval',
        env: 'production',
      });
      expect(r.ok && r.run.currentEnv).toBe('production');
      r = await store.transition(run.id, {
        from: 'awaiting-approval',
        to: 'failed',
        reason: 'rejected in Slack',
      });
      expect(r).toMatchObject({
        ok: true,
        run: { state: 'failed', currentEnv: 'production', reason: 'rejected in Slack' },
      });
      const r2 = await store.transition(run.id, { from: 'failed', to: 'cancelled' });
      expect(r2).toMatchObject({ ok: false, reason: 'not-allowed' });
      const log = (await store.getEvents(run.id)).map((e) => e.transition?.to);
      expect(log).toEqual([undefined, 'gating', 'deploying', 'verifying', 'awaiting-approval', 'failed']);
    });

    it('replays a transition named by an eventKey instead of moving the run twice', async () => {
      const step = { from: 'queued' as const, to: 'gating' as const, eventKey: 'job-17:gating' };
      const first = await store.transition(run.id, step);
      const second = await stores[1]!.transition(run.id, step);
      expect(first).toMatchObject({ ok: true, replayed: false });
      expect(second).toMatchObject({ ok: true, replayed: true, run: { state: 'gating', version: 2 } });
      expect((await store.getEvents(run.id)).filter((e) => e.transition)).toHaveLength(1);
    });

    it('a job killed mid-way and re-run leaves one consistent run', async () => {
      // The job: move to gating, log that the gate started, claim the side effect, do it once, record it.
      let sideEffects = 0;
      const job = async (s: RunStore, killAfter?: 'transition' | 'claim'): Promise<string> => {
        const moved = await s.transition(run.id, {
          from: 'queued',
          to: 'gating',
          eventKey: 'job-1:to-gating',
          event: { type: 'gate', message: 'tests started' },
        });
        if (!moved.ok) throw new Error(`unexpected ${moved.reason}`);
        if (killAfter === 'transition') throw new Error('killed');
        await s.appendEvent(
          run.id,
          { type: 'gate', message: 'check run created' },
          { eventKey: 'job-1:check' },
        );
        const earlier = await s.getStepResult<{ checkRunId: number }>(run.id, 'create-check-run');
        if (earlier) return `reused ${earlier.checkRunId}`;
        if (await s.claimStep(run.id, 'create-check-run')) {
          sideEffects += 1;
          if (killAfter === 'claim') throw new Error('killed');
          await s.recordStepResult(run.id, 'create-check-run', { checkRunId: 99 });
          return 'did it';
        }
        return 'claimed elsewhere';
      };
      await expect(job(stores[0]!, 'transition')).rejects.toThrow('killed');
      expect(await job(stores[1]!)).toBe('did it');
      expect(await job(stores[2]!)).toBe('reused 99');
      const [a, b] = await Promise.all([job(stores[3]!), job(stores[4]!)]);
      expect([a, b]).toEqual(['reused 99', 'reused 99']);
      expect(sideEffects).toBe(1);
      expect(await store.getRun(run.id)).toMatchObject({ state: 'gating', version: 2 });
      const events = await store.getEvents(run.id);
      expect(events.map((e) => e.message)).toEqual([
        expect.any(String),
        'tests started',
        'check run created',
      ]);
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    });

    it('keeps state, version and log consistent when transitions and appends race', async () => {
      await store.transition(run.id, { from: 'queued', to: 'gating' });
      const racers = [
        ...Array.from({ length: 20 }, (_, i) =>
          stores[i % 5]!.transition(run.id, { from: 'gating', to: 'deploying', env: 'staging' }),
        ),
        ...Array.from({ length: 20 }, (_, i) =>
          stores[(i + 2) % 5]!.appendEvent(run.id, { type: 'log', message: 'progress' }, { eventKey: 'p1' }),
        ),
        ...Array.from({ length: 20 }, (_, i) =>
          stores[(i + 3) % 5]!.transition(run.id, { from: 'deploying', to: 'verifying', env: 'staging' }),
        ),
        ...Array.from({ length: 10 }, (_, i) =>
          stores[i % 5]!.appendEvent(run.id, { type: 'log', message: `distinct ${i}` }),
        ),
      ];
      await Promise.all(racers);
      // The second hop may have lost every race against the first; finish it once more.
      await store.transition(run.id, { from: 'deploying', to: 'verifying', env: 'staging' });
      const after = await store.getRun(run.id);
      const events = await store.getEvents(run.id);
      const transitions = events.filter((e) => e.transition);
      expect(after).toMatchObject({ state: 'verifying', currentEnv: 'staging' });
      expect(transitions.map((e) => e.transition!.to)).toEqual(['gating', 'deploying', 'verifying']);
      expect(after!.version).toBe(1 + transitions.length);
      expect(events.filter((e) => e.message === 'progress')).toHaveLength(1);
      expect(events.filter((e) => e.message.startsWith('distinct'))).toHaveLength(10);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    });
  });

  describe('event log', () => {
    it('keeps order, makes eventKey appends idempotent and caps appends', async () => {
      const small = storeOn(redis(), undefined, 5);
      const { run } = await small.createRun(release(), { idempotencyKey: 'r' });
      for (let i = 1; i <= 3; i += 1) {
        expect(await small.appendEvent(run.id, { type: 'log', message: `m${i}`, data: { i } })).toEqual({
          status: 'appended',
          seq: i + 1,
        });
      }
      expect(await small.appendEvent(run.id, { type: 'log', message: 'once' }, { eventKey: 'k' })).toEqual({
        status: 'appended',
        seq: 5,
      });
      expect(
        await small.appendEvent(run.id, { type: 'log', message: 'once again' }, { eventKey: 'k' }),
      ).toEqual({
        status: 'duplicate',
        seq: 5,
      });
      expect(await small.appendEvent(run.id, { type: 'log', message: 'overflow' })).toEqual({
        status: 'dropped',
      });
      // Transitions are recorded even when the log is full.
      expect((await small.transition(run.id, { from: 'queued', to: 'cancelled' })).ok).toBe(true);
      const events = await small.getEvents(run.id);
      expect(events.map((e) => e.message)).toEqual([
        'release run created for acme/shop@v1.2.3',
        'm1',
        'm2',
        'm3',
        'once',
        'queued → cancelled',
      ]);
      expect(events[1]!.data).toEqual({ i: 1 });
      expect(await small.getRun(run.id)).toMatchObject({ droppedEvents: 1 });
      await expect(
        small.appendEvent('01JAAAAAAAAAAAAAAAAAAAAAAA', { type: 'x', message: 'y' }),
      ).rejects.toMatchObject({
        code: RunNotFound.code,
      });
    });
  });

  describe('listRuns', () => {
    it('filters by repo, state and kind, newest first, with an exact cursor', async () => {
      const made: Run[] = [];
      for (let i = 0; i < 7; i += 1) {
        made.push((await store.createRun(release(`v1.0.${i}`), { idempotencyKey: `rel-${i}` })).run);
      }
      const prRun = (await store.createRun(pr(5, SHA_A, 'acme/web'), { idempotencyKey: 'pr' })).run;
      await store.transition(made[2]!.id, { from: 'queued', to: 'gating' });
      await store.transition(made[4]!.id, { from: 'queued', to: 'gating' });

      const all = await store.listRuns({});
      expect(all.runs.map((r) => r.id)).toEqual(
        [prRun, ...made]
          .map((r) => r.id)
          .sort()
          .reverse(),
      );
      expect(all.nextCursor).toBeNull();

      const gating = await store.listRuns({ state: 'gating', repo: 'acme/shop' });
      expect(gating.runs.map((r) => r.id)).toEqual([made[4]!.id, made[2]!.id]);
      expect((await store.listRuns({ kind: 'pr' })).runs.map((r) => r.id)).toEqual([prRun.id]);
      expect((await store.listRuns({ repo: 'acme/web', kind: 'release' })).runs).toEqual([]);

      const pages: string[][] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listRuns({ repo: 'acme/shop', limit: 3, cursor });
        pages.push(page.runs.map((r) => r.id));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(pages.flat()).toEqual(made.map((r) => r.id).reverse());
      expect(pages[0]).toHaveLength(3);

      await expect(store.listRuns({ limit: 0 })).rejects.toMatchObject({ code: RunInputInvalid.code });
      await expect(store.listRuns({ cursor: 'nope' })).rejects.toMatchObject({ code: RunInputInvalid.code });
    });

    it('prunes index entries of expired runs lazily', async () => {
      const { run: gone } = await store.createRun(release('v0.0.1'), { idempotencyKey: 'a' });
      const { run: kept } = await store.createRun(release('v0.0.2'), { idempotencyKey: 'b' });
      // What expiry does: the record and its log vanish, index entries stay behind.
      await redis().del(...store.keys.runScriptKeys(gone.id));
      expect(await redis().zscore(store.keys.indexRepo('acme/shop'), gone.id)).not.toBeNull();
      const page = await store.listRuns({ repo: 'acme/shop' });
      expect(page.runs.map((r) => r.id)).toEqual([kept.id]);
      expect(await redis().zscore(store.keys.indexRepo('acme/shop'), gone.id)).toBeNull();
      expect(await store.getRun(gone.id)).toBeUndefined();
    });
  });

  describe('supersedeOlderPrRuns', () => {
    it('supersedes older non-terminal runs of the same PR only, idempotently', async () => {
      const oldest = (await store.createRun(pr(7, SHA_A), { idempotencyKey: `pr:acme/shop:7:${SHA_A}` })).run;
      const finished = (await store.createRun(pr(7, SHA_B), { idempotencyKey: `pr:acme/shop:7:${SHA_B}` }))
        .run;
      const gating = (await store.createRun(pr(7, SHA_C), { idempotencyKey: `pr:acme/shop:7:${SHA_C}` })).run;
      const otherPr = (await store.createRun(pr(8, SHA_A), { idempotencyKey: `pr:acme/shop:8:${SHA_A}` }))
        .run;
      await store.transition(finished.id, { from: 'queued', to: 'gating' });
      await store.transition(finished.id, { from: 'gating', to: 'succeeded' });
      await store.transition(gating.id, { from: 'queued', to: 'gating' });
      const newest = (await store.createRun(pr(7, 'd'.repeat(40)), { idempotencyKey: 'pr:acme/shop:7:d' }))
        .run;

      const ids = await store.supersedeOlderPrRuns('acme/shop', 7, newest.id);
      expect(ids.sort()).toEqual([oldest.id, gating.id].sort());
      for (const id of ids) {
        expect(await store.getRun(id)).toMatchObject({ state: 'superseded', supersededBy: newest.id });
      }
      expect(await store.getRun(finished.id)).toMatchObject({ state: 'succeeded' });
      expect(await store.getRun(otherPr.id)).toMatchObject({ state: 'queued' });
      expect(await store.getRun(newest.id)).toMatchObject({ state: 'queued' });

      // A retried job gets the same list back and nothing moves twice.
      expect((await store.supersedeOlderPrRuns('acme/shop', 7, newest.id)).sort()).toEqual(ids.sort());
      expect((await store.getEvents(oldest.id)).filter((e) => e.type === 'superseded')).toHaveLength(1);
      expect(await store.getRun(oldest.id)).toMatchObject({ version: 2 });
    });
  });

  describe('retention', () => {
    it('sets the retention TTL on every run key, refreshed by a terminal transition', async () => {
      const retentionMs = 60_000;
      const s = storeOn(redis(), retentionMs);
      const { run } = await s.createRun(release(), { idempotencyKey: 'ttl' });
      await s.claimStep(run.id, 'commit');
      await s.recordStepResult(run.id, 'commit', { sha: SHA_B });
      await s.appendEvent(run.id, { type: 'log', message: 'keyed' }, { eventKey: 'k' });
      await redis().pexpire(s.keys.run(run.id), 1000); // pretend time passed
      await s.transition(run.id, { from: 'queued', to: 'cancelled' });
      for (const key of [...s.keys.runScriptKeys(run.id), s.keys.idempotency('ttl')]) {
        const ttl = await redis().pttl(key);
        expect(ttl, key).toBeGreaterThan(retentionMs - 5000);
        expect(ttl, key).toBeLessThanOrEqual(retentionMs);
      }
    });

    it('really expires a terminal run and its log after the retention', async () => {
      const s = storeOn(redis(), 300);
      const { run } = await s.createRun(release(), { idempotencyKey: 'short' });
      await s.transition(run.id, { from: 'queued', to: 'failed', reason: 'tests failed' });
      await waitFor(async () => ((await s.getRun(run.id)) === undefined ? true : undefined), 5000);
      expect(await s.getEvents(run.id)).toEqual([]);
      // The idempotency key went with it, so the same key can start a new run.
      expect((await s.createRun(release(), { idempotencyKey: 'short' })).created).toBe(true);
    });
  });

  describe('steps and fields', () => {
    it('lets one of many concurrent claims win, and a retry reuse the recorded result', async () => {
      const { run } = await store.createRun(release(), { idempotencyKey: 's' });
      const claims = await Promise.all(
        Array.from({ length: 25 }, (_, i) => stores[i % 5]!.claimStep(run.id, 'commit:staging')),
      );
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await store.getStepResult(run.id, 'commit:staging')).toBeUndefined();
      await store.recordStepResult(run.id, 'commit:staging', { sha: SHA_C });
      expect(await store.getStepResult(run.id, 'commit:staging')).toEqual({ sha: SHA_C });
      expect(await store.releaseStep(run.id, 'commit:staging')).toBe(false);

      expect(await store.claimStep(run.id, 'post-slack')).toBe(true);
      expect(await store.releaseStep(run.id, 'post-slack')).toBe(true);
      expect(await store.claimStep(run.id, 'post-slack')).toBe(true);
      await expect(store.claimStep('01JAAAAAAAAAAAAAAAAAAAAAAA', 'x')).rejects.toMatchObject({
        code: RunNotFound.code,
      });
    });

    it('updates bounded fields with compare-and-set', async () => {
      const { run } = await store.createRun(release(), { idempotencyKey: 'f' });
      const gates = {
        tests: { status: 'passed', durationMs: 1200 },
        trivy: { status: 'failed', critical: 2 },
      };
      const ok = await store.updateRunFields(run.id, { gates }, { expectedVersion: 1 });
      expect(ok).toMatchObject({ ok: true, run: { gates, version: 2 } });
      const stale = await store.updateRunFields(run.id, { app: 'other' }, { expectedVersion: 1 });
      expect(stale).toMatchObject({ ok: false, reason: 'version-mismatch', run: { app: 'shop' } });
      await expect(
        store.updateRunFields(run.id, { gates: { blob: 'x'.repeat(20_000) } }),
      ).rejects.toMatchObject({
        code: RunInputInvalid.code,
      });
      expect(await store.updateRunFields('01JAAAAAAAAAAAAAAAAAAAAAAA', { app: 'x' })).toMatchObject({
        ok: false,
        reason: 'not-found',
      });
    });

    it('records each approver once, even when approvals arrive concurrently', async () => {
      const { run } = await store.createRun(release(), { idempotencyKey: 'a' });
      const at = '2025-01-01T10:00:00.000Z';
      const users = Array.from({ length: 8 }, (_, i) => `U0APPROVER${i}`);
      const results = await Promise.all([
        ...users.map((u, i) =>
          stores[i % 5]!.addApproval(run.id, { env: 'production', slackUserId: u, at, decision: 'approve' }),
        ),
        stores[4]!.addApproval(run.id, {
          env: 'production',
          slackUserId: users[0]!,
          at,
          decision: 'approve',
        }),
      ]);
      expect(results.filter((r) => r.added)).toHaveLength(8);
      const after = await store.getRun(run.id);
      expect(after!.approvals.map((a) => a.slackUserId).sort()).toEqual(users.sort());
      expect(after!.version).toBe(9);
    });
  });
});
