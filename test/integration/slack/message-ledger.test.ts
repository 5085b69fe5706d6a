import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SlackApiRejected, SlackPostInProgress } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { MessageLedger } from '../../../src/slack/message-ledger.js';
import { createSlackClient, type SlackClient } from '../../../src/slack/slack-client.js';
import { deleteKeysWithPrefix, testRedis, uniquePrefix } from '../../support/redis.js';
import type { RedisClient } from '../../../src/redis/connection.js';
import { startSlackStandIn, type SlackStandIn } from '../../../sandbox/slack-stand-in.js';

const logger = createLogger('silent');

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('MessageLedger: one Slack message per (run, key), across retries', () => {
  let redis: RedisClient;
  let prefix: string;
  let slack: SlackStandIn;
  let client: SlackClient;
  let now: number;
  let ledger: MessageLedger;

  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(() => {
    redis.disconnect();
  });
  beforeEach(async () => {
    prefix = uniquePrefix('ledger');
    slack = await startSlackStandIn();
    client = createSlackClient({
      token: slack.token,
      apiUrl: slack.apiUrl,
      logger,
      callTimeoutMs: 300,
      retryConfig: { retries: 0 },
    });
    now = Date.now();
    ledger = new MessageLedger(redis, prefix, { now: () => now, leaseMs: 10_000, logger });
  });
  afterEach(async () => {
    await slack.close();
    await deleteKeysWithPrefix(prefix);
  });

  const post = (owner?: string) =>
    ledger.postOnce(client, {
      runId: 'run-1',
      messageKey: 'approval:production',
      channel: 'C1',
      message: { text: 'please approve' },
      ...(owner ? { owner } : {}),
    });

  it('posts once and then reuses the recorded ts', async () => {
    const first = await post();
    const second = await post();
    expect(first.reused).toBe(false);
    expect(second).toEqual({ ...first, reused: true });
    expect(slack.messages).toHaveLength(1);
    expect(await ledger.get('run-1', 'approval:production')).toEqual({ channel: 'C1', ts: first.ts });
  });

  it('adopts a message an earlier attempt posted but could not record (timeout), instead of posting again', async () => {
    // Slack takes longer than our deadline: the attempt fails, but the message does get posted.
    slack.fail('chat.postMessage', 1, { delayMs: 600 });
    await expect(post('job-7')).rejects.toMatchObject({ code: 'SHIPGATE_E_SLACK_UNAVAILABLE' });
    await until(() => slack.messages.length === 1);
    const retried = await post('job-7');
    expect(retried).toMatchObject({ ts: slack.messages[0]?.ts, reused: true });
    expect(slack.callsTo('chat.postMessage')).toHaveLength(1);
    expect(slack.callsTo('conversations.history')).toHaveLength(1);
  });

  it('makes another owner wait while a live claim may still be posting, then takes over after the lease', async () => {
    slack.fail('chat.postMessage', 1, { http: 500 });
    await expect(post('worker-a')).rejects.toMatchObject({ code: 'SHIPGATE_E_SLACK_UNAVAILABLE' });
    const busy = await post('worker-b').catch((e: unknown) => e);
    expect(SlackPostInProgress.is(busy)).toBe(true);
    expect((busy as { retryable: boolean }).retryable).toBe(true);
    now += 10_001;
    const taken = await post('worker-b');
    expect(taken.reused).toBe(false);
    expect(slack.messages).toHaveLength(1);
  });

  it('frees the claim when Slack refused the post, so the next attempt does not wait', async () => {
    slack.fail('chat.postMessage', 1, { error: 'not_in_channel' });
    const refused = await post('worker-a').catch((e: unknown) => e);
    expect(SlackApiRejected.is(refused)).toBe(true);
    const next = await post('worker-b');
    expect(next.reused).toBe(false);
    expect(slack.callsTo('conversations.history')).toHaveLength(0);
  });

  it('posts anyway (at-least-once) when it cannot read history to check', async () => {
    slack.fail('chat.postMessage', 1, { http: 500 });
    await expect(post('job-1')).rejects.toThrow();
    slack.fail('conversations.history', 1, { error: 'missing_scope' });
    const retried = await post('job-1');
    expect(retried.reused).toBe(false);
    expect(slack.messages).toHaveLength(1);
  });

  it('posts a thread reply once and looks for it among the thread replies', async () => {
    const root = await post();
    slack.fail('chat.postMessage', 1, { delayMs: 600 });
    const reply = () =>
      ledger.postOnce(client, {
        runId: 'run-1',
        messageKey: 'event:deployed:staging',
        channel: 'C1',
        message: { text: 'deployed', thread_ts: root.ts },
        owner: 'job-2',
      });
    await expect(reply()).rejects.toThrow();
    await until(() => slack.messages.length === 2);
    expect((await reply()).reused).toBe(true);
    expect(slack.threadReplies('C1', root.ts)).toHaveLength(1);
    expect(slack.callsTo('conversations.replies')).toHaveLength(1);
  });

  it('gives one message for 10 concurrent attempts', async () => {
    // No timeout under test here: 300 ms (for the timeout tests above) was too short for the one
    // winning post when the CI machine's CPU was saturated.
    client = createSlackClient({
      token: slack.token,
      apiUrl: slack.apiUrl,
      logger,
      callTimeoutMs: 10_000,
      retryConfig: { retries: 0 },
    });
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => post(`w${i}`)));
    const posted = results.filter((r) => r.status === 'fulfilled' && !r.value.reused);
    expect(posted).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(SlackPostInProgress.is(r.reason), String(r.reason)).toBe(true);
    }
    expect(slack.messages).toHaveLength(1);
  });
});
