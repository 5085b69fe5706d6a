import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decideTrigger, type TriggerRules } from '../../../src/engine/decisions/decide-trigger.js';
import { normalizeWebhook } from '../../../src/webhooks/normalize-webhook.js';
import { FIXTURES } from '../../support/fixtures.js';

const GITHUB_FIXTURES = `${FIXTURES}/github`;
const rules: TriggerRules = { isReleaseTag: (tag) => /^v\d/.test(tag) || tag === 'simple-tag', appId: 1 };

function job(event: string, file: string, patch?: (payload: Record<string, unknown>) => void) {
  const payload = JSON.parse(readFileSync(`${GITHUB_FIXTURES}/${file}`, 'utf8')) as Record<string, unknown>;
  patch?.(payload);
  // Examples from GitHub's docs are not App deliveries; give them the installation an App gets.
  payload.installation ??= { id: 42, node_id: 'x' };
  return normalizeWebhook(
    { deliveryId: `d-${file}`, event, hookId: '1', hookTargetId: '1', receivedAt: new Date() },
    payload,
  );
}

describe('decideTrigger on real GitHub payloads', () => {
  it('turns an opened pull request into a PR run keyed by head sha', () => {
    const trigger = decideTrigger(job('pull_request', 'pull_request-opened.json'), rules);
    expect(trigger).toMatchObject({ type: 'pull-request', prNumber: expect.any(Number), isFork: false });
    if (trigger.type !== 'pull-request') throw new Error('unreachable');
    expect(trigger.idempotencyKey).toBe(
      `pr:${trigger.repo.toLowerCase()}:${trigger.prNumber}:${trigger.headSha}`,
    );
  });

  it('treats synchronize like opened, at the new head', () => {
    const trigger = decideTrigger(job('pull_request', 'pull_request-synchronize.json'), rules);
    expect(trigger.type).toBe('pull-request');
  });

  it('makes one release key for the tag push and the tag create', () => {
    const push = decideTrigger(job('push', 'push-tag-created.docs-example.json'), rules);
    expect(push).toMatchObject({ type: 'release', sha: expect.stringMatching(/^[0-9a-f]{40}$/) });
    if (push.type !== 'release') throw new Error('unreachable');
    const create = decideTrigger(
      job('create', 'create-tag.json', (p) => {
        p.ref = push.tag;
        (p.repository as Record<string, unknown>).full_name = push.repo;
      }),
      rules,
    );
    expect(create).toMatchObject({ type: 'release', sha: null, tag: push.tag });
    if (create.type !== 'release') throw new Error('unreachable');
    expect(create.idempotencyKey).toBe(push.idempotencyKey);
  });

  it('never starts anything for a deleted tag', () => {
    const trigger = decideTrigger(job('push', 'push-tag-deleted.json'), rules);
    expect(trigger).toMatchObject({ type: 'ignore', reason: expect.stringMatching(/deleted/) });
  });

  it('ignores branch pushes and tags that do not match the release pattern', () => {
    expect(decideTrigger(job('push', 'push-branch-created-with-commit.json'), rules).type).toBe('ignore');
    const other = decideTrigger(job('push', 'push-tag-created.docs-example.json'), {
      ...rules,
      isReleaseTag: () => false,
    });
    expect(other).toMatchObject({ type: 'ignore', reason: expect.stringMatching(/pattern/) });
  });

  it('ignores a closed pull request', () => {
    const trigger = decideTrigger(
      job('pull_request', 'pull_request-opened.json', (p) => (p.action = 'closed')),
      rules,
    );
    expect(trigger.type).toBe('ignore');
  });

  it('ignores deliveries without an installation', () => {
    const j = job('pull_request', 'pull_request-opened.json');
    expect(decideTrigger({ ...j, installationId: null }, rules)).toMatchObject({ type: 'ignore' });
  });

  it('re-runs on a re-requested check suite of this App, and nothing else of check_suite', () => {
    const rerequested = decideTrigger(
      job('check_suite', 'check_suite-requested.json', (p) => {
        p.action = 'rerequested';
        (p.check_suite as { app: { id: number } }).app.id = 1;
      }),
      rules,
    );
    expect(rerequested).toMatchObject({
      type: 'rerun-suite',
      headSha: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    const requested = decideTrigger(job('check_suite', 'check_suite-requested.json'), rules);
    expect(requested.type).toBe('ignore');
    const otherApp = decideTrigger(
      job('check_suite', 'check_suite-requested.json', (p) => {
        p.action = 'rerequested';
        (p.check_suite as { app: { id: number } }).app.id = 999;
      }),
      rules,
    );
    expect(otherApp).toMatchObject({ type: 'ignore', reason: expect.stringMatching(/another App/) });
  });
});
