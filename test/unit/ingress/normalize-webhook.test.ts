import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deliveryKey, readDeliveryHeaders } from '../../../src/webhooks/delivery-headers.js';
import { normalizeWebhook, type DeliveryMeta } from '../../../src/webhooks/normalize-webhook.js';
import { LIMITS, WebhookJobSchema } from '../../../src/webhooks/webhook-job.js';
import { FIXTURES } from '../../support/fixtures.js';

const fixture = (name: string) =>
  JSON.parse(readFileSync(`${FIXTURES}/github/${name}.json`, 'utf8')) as Record<string, unknown>;
const meta = (event: string): DeliveryMeta => ({
  deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
  event,
  hookId: '42',
  hookTargetId: '7',
  receivedAt: new Date('2026-01-02T03:04:05Z'),
});

describe('normalizeWebhook', () => {
  it('keeps what the pipeline needs from a tag push', () => {
    const job = normalizeWebhook(meta('push'), fixture('push-tag-created.docs-example'));
    expect(job).toMatchObject({
      v: 1,
      event: 'push',
      deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      receivedAt: '2026-01-02T03:04:05.000Z',
      hookId: '42',
      hookTargetId: '7',
      repo: { fullName: 'Codertocat/Hello-World', owner: 'Codertocat', name: 'Hello-World', private: false },
      push: { ref: 'refs/tags/simple-tag', created: true, deleted: false, pusherName: 'Codertocat' },
    });
    expect(job.repo?.cloneUrl).toBe('https://github.com/Codertocat/Hello-World.git');
  });

  it('marks fork PRs and keeps head and base', () => {
    const payload = fixture('pull_request-opened');
    const job = normalizeWebhook(meta('pull_request'), payload);
    if (job.event !== 'pull_request') throw new Error('narrowing');
    expect(job.pullRequest).toMatchObject({
      number: 2,
      headRef: 'changes',
      baseRef: 'master',
      isFork: false,
    });
    const pr = payload.pull_request as { head: { repo: { full_name: string } } };
    pr.head.repo.full_name = 'mallory/Hello-World';
    const fork = normalizeWebhook(meta('pull_request'), payload);
    expect(fork.event === 'pull_request' && fork.pullRequest.isFork).toBe(true);
    (payload.pull_request as { head: { repo: null } }).head.repo = null;
    const gone = normalizeWebhook(meta('pull_request'), payload);
    expect(gone.event === 'pull_request' && gone.pullRequest).toMatchObject({
      isFork: true,
      headRepoFullName: null,
    });
  });

  it('reads create events', () => {
    const job = normalizeWebhook(meta('create'), fixture('create-tag'));
    expect(job.event === 'create' && job.create).toEqual({ ref: 'simple-tag', refType: 'tag' });
  });

  it('bounds free text and lists, so job data stays small whatever was signed', () => {
    const payload = fixture('push-tag-created.docs-example');
    (payload.head_commit as { message: string }).message = 'm'.repeat(100_000);
    const job = normalizeWebhook(meta('push'), payload);
    expect(job.event === 'push' && job.push.headCommitMessage?.length).toBe(LIMITS.commitMessage);

    const many = Array.from({ length: 5000 }, (_, i) => ({
      id: i,
      name: `r${i}`,
      full_name: `o/r${i}`,
      private: false,
    }));
    const inst = normalizeWebhook(meta('installation_repositories'), {
      action: 'added',
      installation: { id: 1, account: { login: 'o', type: 'Organization' } },
      repository_selection: 'selected',
      repositories_added: many,
      repositories_removed: [],
      sender: { login: 'o', id: 1, type: 'User' },
    });
    expect(inst.event === 'installation_repositories' && inst.installation).toMatchObject({
      truncated: true,
      repositories: expect.arrayContaining(['o/r0']),
    });
    expect(JSON.stringify(inst).length).toBeLessThan(4000);
  });

  it('keeps nothing it was not asked to keep', () => {
    const payload = {
      ...fixture('push-tag-created.docs-example'),
      token: 'ghs_leak',
      installation: { id: 9, access_tokens_url: 'x' },
    };
    const text = JSON.stringify(normalizeWebhook(meta('push'), payload));
    expect(text).not.toContain('ghs_leak');
    expect(text).not.toContain('access_tokens_url');
  });

  it('rejects payloads without what it needs, naming the path and not the value', () => {
    const payload = fixture('push-tag-created.docs-example');
    delete (payload as { ref?: string }).ref;
    expect(() => normalizeWebhook(meta('push'), payload)).toThrow(
      expect.objectContaining({
        code: 'SHIPGATE_E_WEBHOOK_PAYLOAD_INVALID',
        message: expect.stringContaining('ref'),
      }),
    );
    const badSha = { ...fixture('push-tag-created.docs-example'), after: '<script>' };
    expect(() => normalizeWebhook(meta('push'), badSha)).toThrow(
      expect.objectContaining({ statusCode: 400 }),
    );
  });

  it('produces data the consumers parse', () => {
    for (const [name, event] of [
      ['check_suite-requested', 'check_suite'],
      ['pull_request-synchronize', 'pull_request'],
      ['push-tag-deleted', 'push'],
    ] as const) {
      expect(WebhookJobSchema.parse(normalizeWebhook(meta(event), fixture(name))).event).toBe(event);
    }
  });
});

describe('delivery headers', () => {
  const headers = {
    'x-github-event': 'push',
    'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    'x-github-hook-id': '42',
    'x-github-hook-installation-target-id': '7',
  };
  it('scopes the delivery per App and hook', () => {
    const h = readDeliveryHeaders(headers);
    expect(deliveryKey(h)).toBe('gh-7-42-72d3162e-cc78-11e3-81ab-4c9367dc0958');
    expect(deliveryKey({ ...h, hookId: '43' })).not.toBe(deliveryKey(h));
    expect(deliveryKey(h)).not.toContain(':'); // BullMQ custom ids cannot hold ':'
  });
  it('rejects values that could not come from GitHub', () => {
    expect(() => readDeliveryHeaders({ ...headers, 'x-github-delivery': 'a:b' })).toThrow(
      /X-GitHub-Delivery/,
    );
    expect(() => readDeliveryHeaders({ ...headers, 'x-github-event': '' })).toThrow(/missing X-GitHub-Event/);
  });
});
