import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SlackApiRejected, SlackApiUnavailable } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { createSlackClient, type SlackClient } from '../../../src/slack/slack-client.js';
import { startSlackStandIn, type SlackStandIn } from '../../../sandbox/slack-stand-in.js';

const logger = createLogger('silent');
const fastRetry = { retries: 2, factor: 1, minTimeout: 10, maxTimeout: 10, randomize: false };

describe('Slack client against the stand-in, through the real WebClient', () => {
  let slack: SlackStandIn;
  let client: SlackClient;

  beforeEach(async () => {
    slack = await startSlackStandIn({
      users: [{ id: 'U0ALICE', email: 'alice@example.com' }],
      userGroups: { S0PLATFORM: ['U0ALICE', 'U0BOB'] },
    });
    client = createSlackClient({ token: slack.token, apiUrl: slack.apiUrl, logger, retryConfig: fastRetry });
  });
  afterEach(async () => {
    await slack.close();
  });

  it('sends the bot token as a Bearer header only, and form-encodes objects', async () => {
    const posted = await client.postMessage('C1', {
      text: 'hello',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'hello' } }],
      metadata: { event_type: 'shipgate_message', event_payload: { run_id: 'r1' } },
    });
    expect(posted.channel).toBe('C1');
    const [call] = slack.callsTo('chat.postMessage');
    expect(call?.authorization).toBe(`Bearer ${slack.token}`);
    expect(call?.contentType).toContain('application/x-www-form-urlencoded');
    expect(JSON.stringify(call?.args)).not.toContain(slack.token);
    expect(slack.messages[0]?.metadata?.event_payload).toEqual({ run_id: 'r1' });
  });

  it('honours 429 Retry-After on an idempotent call and then succeeds', async () => {
    const posted = await client.postMessage('C1', { text: 'v1' });
    slack.rateLimit('chat.update', 2, 1);
    const started = Date.now();
    await client.updateMessage('C1', posted.ts, { text: 'v2' });
    const elapsed = Date.now() - started;
    const updates = slack.callsTo('chat.update');
    expect(updates.map((c) => c.status)).toEqual([429, 429, 200]);
    // Two waits of Retry-After: 1 s each, and never an attempt before the wait is over.
    expect(elapsed).toBeGreaterThanOrEqual(1900);
    expect((updates[1]?.at ?? 0) - (updates[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(slack.messages[0]?.text).toBe('v2');
  });

  it('waits out a 429 on chat.postMessage and posts exactly once', async () => {
    slack.rateLimit('chat.postMessage', 1, 1);
    const started = Date.now();
    await client.postMessage('C1', { text: 'once' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(slack.callsTo('chat.postMessage').map((c) => c.status)).toEqual([429, 200]);
    expect(slack.messages).toHaveLength(1);
  });

  it('does not blindly retry chat.postMessage after a 5xx (Slack may have posted)', async () => {
    slack.fail('chat.postMessage', 1, { http: 503 });
    const err = await client.postMessage('C1', { text: 'x' }).catch((e: unknown) => e);
    expect(SlackApiUnavailable.is(err)).toBe(true);
    expect(slack.callsTo('chat.postMessage')).toHaveLength(1);
  });

  it('retries idempotent calls after a 5xx', async () => {
    slack.fail('usergroups.users.list', 2, { http: 500 });
    await expect(client.listUserGroupMembers('S0PLATFORM')).resolves.toEqual(['U0ALICE', 'U0BOB']);
    expect(slack.callsTo('usergroups.users.list')).toHaveLength(3);
  });

  it('maps platform errors to non-retryable or retryable catalogue errors', async () => {
    const rejected = await client.postMessage('', { text: 'x' }).catch((e: unknown) => e);
    expect(SlackApiRejected.is(rejected)).toBe(true);
    expect((rejected as { retryable: boolean }).retryable).toBe(false);
    expect((rejected as { details: unknown }).details).toEqual({
      method: 'chat.postMessage',
      slackError: 'channel_not_found',
    });

    const bad = createSlackClient({
      token: 'xoxb-wrong',
      apiUrl: slack.apiUrl,
      logger,
      retryConfig: fastRetry,
    });
    const authErr = await bad.listUserGroupMembers('S0PLATFORM').catch((e: unknown) => e);
    expect(SlackApiRejected.is(authErr)).toBe(true);
    expect(String((authErr as Error).message)).not.toContain('xoxb-wrong');

    slack.fail('users.lookupByEmail', 5, { error: 'internal_error' });
    const transient = await client.lookupUserByEmail('alice@example.com').catch((e: unknown) => e);
    expect(SlackApiUnavailable.is(transient)).toBe(true);
  });

  it('gives up a call at its deadline', async () => {
    const quick = createSlackClient({
      token: slack.token,
      apiUrl: slack.apiUrl,
      logger,
      callTimeoutMs: 300,
      retryConfig: { retries: 0 },
    });
    slack.fail('usergroups.users.list', 1, { delayMs: 2000 });
    const started = Date.now();
    const err = await quick.listUserGroupMembers('S0PLATFORM').catch((e: unknown) => e);
    expect(SlackApiUnavailable.is(err)).toBe(true);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('looks users up by email and returns undefined for unknown ones', async () => {
    await expect(client.lookupUserByEmail('ALICE@example.com')).resolves.toBe('U0ALICE');
    await expect(client.lookupUserByEmail('nobody@example.com')).resolves.toBeUndefined();
  });

  it('finds a message by its metadata in the channel and in a thread', async () => {
    const root = await client.postMessage('C1', {
      text: 'root',
      metadata: { event_type: 'shipgate_message', event_payload: { run_id: 'r1', message_key: 'root' } },
    });
    await client.postMessage('C1', {
      text: 'reply',
      thread_ts: root.ts,
      metadata: { event_type: 'shipgate_message', event_payload: { run_id: 'r1', message_key: 'reply' } },
    });
    const byKey = (key: string) => (p: Record<string, unknown>) => p.run_id === 'r1' && p.message_key === key;
    await expect(
      client.findMessageByMetadata({ channel: 'C1', eventType: 'shipgate_message', match: byKey('root') }),
    ).resolves.toBe(root.ts);
    await expect(
      client.findMessageByMetadata({ channel: 'C1', eventType: 'shipgate_message', match: byKey('reply') }),
    ).resolves.toBeUndefined();
    await expect(
      client.findMessageByMetadata({
        channel: 'C1',
        threadTs: root.ts,
        eventType: 'shipgate_message',
        match: byKey('reply'),
      }),
    ).resolves.toBe(slack.messages[1]?.ts);
  });
});
