import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { MessageLedger } from '../../../src/slack/message-ledger.js';
import type { ReleaseRef } from '../../../src/slack/notification-message.js';
import { createNotifier, THREAD_ROOT_KEY, type Notifier } from '../../../src/slack/notify.js';
import { createSlackClient } from '../../../src/slack/slack-client.js';
import { deleteKeysWithPrefix, testRedis, uniquePrefix } from '../../support/redis.js';
import type { RedisClient } from '../../../src/redis/connection.js';
import { startSlackStandIn, type SlackStandIn } from '../../../sandbox/slack-stand-in.js';

const release: ReleaseRef = {
  runId: 'run-9',
  app: 'payments',
  version: 'v2.0.0',
  channel: 'C0RELEASES',
  repo: 'acme/payments',
  sha: 'abcdef1234567890',
  releaserLogin: 'carol',
};

describe('notify (real Redis, Slack stand-in)', () => {
  let redis: RedisClient;
  let prefix: string;
  let slack: SlackStandIn;
  let ledger: MessageLedger;
  let notifier: Notifier;
  let sleeps: number[];
  let logLines: string[];

  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(() => {
    redis.disconnect();
  });
  beforeEach(async () => {
    prefix = uniquePrefix('notify');
    slack = await startSlackStandIn();
    sleeps = [];
    logLines = [];
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk: Buffer, _e, done) {
          logLines.push(chunk.toString());
          done();
        },
      }),
    );
    const client = createSlackClient({
      token: slack.token,
      apiUrl: slack.apiUrl,
      logger,
      retryConfig: { retries: 0 },
    });
    ledger = new MessageLedger(redis, prefix, { logger });
    notifier = createNotifier({
      slack: client,
      ledger,
      logger,
      retry: { attempts: 4, baseDelayMs: 100, maxDelayMs: 400 },
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
  });
  afterEach(async () => {
    await slack.close();
    await deleteKeysWithPrefix(prefix);
  });

  it('keeps a release in one thread and broadcasts failures to the channel', async () => {
    const started = await notifier.notify({ ...release, kind: 'release-started' });
    expect(started.ok).toBe(true);
    const root = await ledger.get('run-9', THREAD_ROOT_KEY);
    expect(root?.channel).toBe('C0RELEASES');
    await notifier.notify({ ...release, kind: 'environment-deployed', env: 'staging' });
    await notifier.notify({ ...release, kind: 'waiting-for-approval', env: 'production' });
    await notifier.notify({ ...release, kind: 'promoted', env: 'production', approvedBy: ['U0BOB'] });
    const failed = await notifier.notify({
      ...release,
      kind: 'rolled-back',
      env: 'production',
      gate: 'analysis',
      reason: 'error-rate 7.5% > 5%\n(AnalysisRun payments-7f9 failed)',
      revertCommit: '0123456789abcdef',
    });
    expect(failed).toMatchObject({ ok: true, threadTs: root?.ts });

    const top = slack.channelMessages('C0RELEASES');
    expect(top).toHaveLength(1);
    expect(top[0]?.text).toContain(
      ':rocket: Release *payments* `v2.0.0` from acme/payments@abcdef1 by carol',
    );
    const replies = slack.threadReplies('C0RELEASES', root?.ts ?? '');
    expect(replies.map((r) => r.text)).toEqual([
      expect.stringContaining('release started'),
      expect.stringContaining('is live in *staging*'),
      expect.stringContaining('waiting for approval to *production*'),
      expect.stringContaining('promoted to *production*, approved by <@U0BOB>'),
      expect.stringContaining(
        'rolled back in *production* (revert 0123456): gate `analysis`: error-rate 7.5% &gt; 5% (AnalysisRun payments-7f9 failed)',
      ),
    ]);
    expect(replies.map((r) => r.replyBroadcast)).toEqual([false, false, false, false, true]);
  });

  it('starts the thread on demand when the first event is not "release started"', async () => {
    const result = await notifier.notify({ ...release, kind: 'failed', gate: 'trivy', reason: '3 critical' });
    expect(result.ok).toBe(true);
    expect(slack.channelMessages('C0RELEASES')).toHaveLength(1);
    expect(slack.messages[1]).toMatchObject({ replyBroadcast: true, threadTs: slack.messages[0]?.ts });
  });

  it('does not post the same event twice when a job repeats it', async () => {
    await notifier.notify({ ...release, kind: 'environment-deployed', env: 'staging' });
    const again = await notifier.notify({ ...release, kind: 'environment-deployed', env: 'staging' });
    expect(again).toMatchObject({ ok: true, reused: true });
    expect(slack.messages).toHaveLength(2);
    await notifier.notify(
      { ...release, kind: 'environment-deployed', env: 'staging' },
      { eventKey: 'redeploy-2' },
    );
    expect(slack.messages).toHaveLength(3);
  });

  it('retries with backoff through Slack errors and rate limits, posting once', async () => {
    slack.fail('chat.postMessage', 2, { error: 'internal_error' });
    slack.fail('chat.postMessage', 1, { http: 503 });
    slack.rateLimit('chat.postMessage', 1, 1);
    const result = await notifier.notify({ ...release, kind: 'release-started' });
    expect(result).toMatchObject({ ok: true, attempts: 4 });
    expect(sleeps).toHaveLength(3);
    expect(sleeps.every((ms, i) => ms >= 0 && ms < Math.min(400, 100 * 2 ** i))).toBe(true);
    expect(slack.messages).toHaveLength(2); // root + reply, each once
    expect(logLines.filter((l) => l.includes('Slack notification failed'))).toHaveLength(3);
  });

  it('never throws: Slack down for good gives a logged failure result', async () => {
    slack.fail('chat.postMessage', 100, { http: 503 });
    slack.fail('conversations.history', 100, { http: 503 });
    const result = await notifier.notify({
      ...release,
      kind: 'failed',
      env: 'staging',
      gate: 'zap',
      reason: 'x',
    });
    expect(result).toMatchObject({
      ok: false,
      attempts: 4,
      error: { code: 'SHIPGATE_E_SLACK_UNAVAILABLE', retryable: true },
    });
    expect(logLines.some((l) => l.includes('giving up on a Slack notification'))).toBe(true);
    expect(logLines.join('')).not.toContain(slack.token);
  });

  it('stops at once on an error a retry cannot fix', async () => {
    slack.fail('chat.postMessage', 1, { error: 'channel_not_found' });
    const result = await notifier.notify({ ...release, kind: 'release-started' });
    expect(result).toMatchObject({
      ok: false,
      attempts: 1,
      error: { code: 'SHIPGATE_E_SLACK_REJECTED', retryable: false },
    });
    expect(sleeps).toEqual([]);
  });
});
