import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { pipelineWorker } from '../../../workers/engine-workers.js';
import { eventually, fixturePayload, startHarness, type Harness } from '../../support/shipgate-harness.js';

/**
 * Which deliveries start a release (issue 3): a tag's `push` and `create` make one run; a lone
 * `create` (GitHub sends no push when more than three tags are pushed at once) resolves the
 * tag's commit through the API, annotated tags included; a deleted tag starts nothing.
 * Only the pipeline worker runs: the run is asserted as it enters its gates.
 */
describe('release triggers', () => {
  let h: Harness;
  afterEach(async () => h?.close());

  const annotatedTag = (tag: string) =>
    execFileSync(
      'git',
      ['-C', h.appRepo.bareDir, 'tag', '-a', tag, '-m', `release ${tag}`, h.appRepo.shas[0]!],
      {
        env: { ...process.env, GIT_COMMITTER_NAME: 'Rel Easer', GIT_COMMITTER_EMAIL: 'rel@example.com' },
      },
    );

  function push(tag: string, extra: Record<string, unknown> = {}) {
    const payload = fixturePayload('push-tag-created.docs-example.json', h);
    Object.assign(payload, {
      ref: `refs/tags/${tag}`,
      after: h.appRepo.shas[0],
      created: true,
      deleted: false,
      ...extra,
    });
    return payload;
  }
  function create(tag: string) {
    const payload = fixturePayload('create-tag.json', h);
    Object.assign(payload, { ref: tag, ref_type: 'tag' });
    return payload;
  }
  async function settle(count: number) {
    await eventually(
      async () => ((await h.queues.webhook.getJobCounts('completed')).completed ?? 0) >= count,
      20_000,
      `${count} deliveries handled`,
    );
  }

  it('makes one run for a tag push and its create, in either order', async () => {
    h = await startHarness({ workers: [pipelineWorker] });
    annotatedTag('v1.2.3');
    annotatedTag('v1.2.4');
    expect(await h.deliver('push', push('v1.2.3'))).toBe(202);
    expect(await h.deliver('create', create('v1.2.3'))).toBe(202);
    expect(await h.deliver('create', create('v1.2.4'))).toBe(202);
    expect(await h.deliver('push', push('v1.2.4'))).toBe(202);
    await settle(4);
    const runs = (await h.runs.listRuns({ repo: 'acme/web' })).runs;
    expect(runs.map((r) => r.tag).sort()).toEqual(['v1.2.3', 'v1.2.4']);
    // The create-first run found the commit behind the annotated tag through the API.
    for (const run of runs)
      expect(run).toMatchObject({ kind: 'release', sha: h.appRepo.shas[0], state: 'gating' });
    expect(h.github.checkRuns('acme', 'web').filter((c) => c.name === 'shipgate/tests')).toHaveLength(2);
  });

  it('starts nothing for a deleted tag or a tag outside the release pattern', async () => {
    h = await startHarness({ workers: [pipelineWorker] });
    const deleted = push('v9.9.9', { created: false, deleted: true, after: '0'.repeat(40) });
    expect(await h.deliver('push', deleted)).toBe(202);
    expect(await h.deliver('push', push('nightly-2025-01-01'))).toBe(202);
    await settle(2);
    expect((await h.runs.listRuns({})).runs).toEqual([]);
    expect(h.github.checkRuns('acme', 'web')).toEqual([]);
  });
});
