import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOncePerRun } from '../../../src/runs/create-once-per-run.js';
import { RunStore } from '../../../src/runs/run-store.js';
import type { RedisClient } from '../../../src/redis/connection.js';
import { deleteKeysWithPrefix, testRedis, uniquePrefix } from '../../support/redis.js';

/**
 * The soak found two `shipgate/zap` check runs (and two GitHub Deployments) for one run: the same
 * deploy ran in two workers at once, and both looked on GitHub before either had created. Here
 * the "GitHub" is a counter whose create takes a while, as a real POST does.
 */
describe('createOncePerRun (real Redis, one connection per process)', () => {
  let prefix: string;
  let connections: RedisClient[];
  let stores: RunStore[];
  let runId: string;

  beforeEach(async () => {
    prefix = uniquePrefix('once');
    connections = Array.from({ length: 4 }, () => testRedis());
    stores = connections.map((redis) => new RunStore(redis, { prefix }));
    const { run } = await stores[0]!.createRun(
      {
        kind: 'release',
        repo: 'acme/shop',
        installationId: 1,
        sha: 'a'.repeat(40),
        ref: 'refs/tags/v1.0.0',
        tag: 'v1.0.0',
        app: 'shop',
        releaser: 'octocat',
      },
      { idempotencyKey: 'release:acme/shop:v1.0.0' },
    );
    runId = run.id;
  });

  afterEach(async () => {
    for (const redis of connections) redis.disconnect();
    await deleteKeysWithPrefix(prefix);
  });

  /** A find-or-create that cannot see a create still in flight, like GitHub's list-then-POST. */
  function slowGithub() {
    const objects: number[] = [];
    return {
      objects,
      findOrCreate: async () => {
        const found = objects[0];
        if (found !== undefined) return { id: found };
        await new Promise((r) => setTimeout(r, 150));
        objects.push(1000 + objects.length);
        return { id: objects.at(-1)! };
      },
    };
  }

  it('four processes asking at once make one object, and all get its id', async () => {
    const github = slowGithub();
    const ids = await Promise.all(
      stores.map((store) => createOncePerRun(store, runId, 'check:zap', github.findOrCreate)),
    );
    expect(github.objects).toEqual([1000]);
    expect(ids.map((r) => r.id)).toEqual([1000, 1000, 1000, 1000]);
    // Without the claim, the same race makes one object per process.
    const unguarded = slowGithub();
    await Promise.all(stores.map(() => unguarded.findOrCreate()));
    expect(unguarded.objects.length).toBeGreaterThan(1);
  });

  it('a later call reuses the recorded result without creating', async () => {
    const github = slowGithub();
    await createOncePerRun(stores[0]!, runId, 'deployment:staging', github.findOrCreate);
    const again = await createOncePerRun(stores[1]!, runId, 'deployment:staging', async () => {
      throw new Error('must not be called');
    });
    expect(again).toEqual({ id: 1000 });
  });

  it('a winner that died mid-create (claim, no result) is taken over after the wait', async () => {
    expect(await stores[0]!.claimStep(runId, 'check:zap')).toBe(true);
    const github = slowGithub();
    const began = Date.now();
    const result = await createOncePerRun(stores[1]!, runId, 'check:zap', github.findOrCreate, {
      waitMs: 300,
    });
    expect(Date.now() - began).toBeGreaterThanOrEqual(300);
    expect(result).toEqual({ id: 1000 });
    expect(await stores[2]!.getStepResult(runId, 'check:zap')).toEqual({ id: 1000 });
  });

  it('the wait ends at once when the caller is cancelled', async () => {
    await stores[0]!.claimStep(runId, 'check:zap');
    const controller = new AbortController();
    const waiting = createOncePerRun(stores[1]!, runId, 'check:zap', slowGithub().findOrCreate, {
      signal: controller.signal,
    });
    controller.abort(new Error('lease lost'));
    await expect(waiting).rejects.toThrow();
  });
});
