import { randomUUID } from 'node:crypto';
import { isRetryable } from '../errors.js';
import { retry, type RetryPolicy } from '../retry/retry.js';
import type { Logger } from '../logger.js';
import type { MessageLedger } from './message-ledger.js';
import {
  isFailure,
  renderNotification,
  renderThreadRoot,
  type ReleaseEvent,
} from './notification-message.js';
import type { SlackClient } from './slack-client.js';

export interface NotifierOptions {
  slack: SlackClient;
  ledger: MessageLedger;
  logger: Logger;
  /** In-process retries of one notification. @defaultValue attempts 4, 500 ms doubling to 8 s, full jitter */
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** @defaultValue a setTimeout-based sleep (tests pass a fast one) */
  sleep?: (ms: number) => Promise<void>;
}

export type NotifyResult =
  | { ok: true; channel: string; ts: string; threadTs: string; attempts: number; reused: boolean }
  | { ok: false; attempts: number; error: { code: string; message: string; retryable: boolean } };

export interface NotifyOptions {
  /**
   * Names this notification for idempotency within the run: a repeat with the same key is not
   * posted again. @defaultValue `{kind}:{env}` (e.g. `failed:production`)
   */
  eventKey?: string;
}

export interface Notifier {
  /** Never throws: a failure is retried with backoff, logged, and returned. */
  notify(event: ReleaseEvent, options?: NotifyOptions): Promise<NotifyResult>;
}

export const THREAD_ROOT_KEY = 'thread-root';

/**
 * Release notifications, all in one thread per release: the root is posted once per run (its ts is
 * the ledger's `thread-root` entry), every event is a reply, and failures are broadcast to the
 * channel too. Each message goes through the ledger, so a retried job never posts it twice.
 */
export function createNotifier(options: NotifierOptions): Notifier {
  const sleep = options.sleep;
  const policy: RetryPolicy = {
    attempts: Math.max(1, options.retry?.attempts ?? 4),
    minDelayMs: options.retry?.baseDelayMs ?? 500,
    maxDelayMs: options.retry?.maxDelayMs ?? 8_000,
    jitter: 'full',
    retryable: isRetryable,
    ...(sleep ? { sleep: (ms: number) => sleep(ms) } : {}),
  };
  const log = options.logger.child({ component: 'notify' });

  async function once(event: ReleaseEvent, eventKey: string, owner: string) {
    const root = await options.ledger.postOnce(options.slack, {
      runId: event.runId,
      messageKey: THREAD_ROOT_KEY,
      channel: event.channel,
      message: renderThreadRoot(event),
      owner: `${owner}:root`,
    });
    const reply = await options.ledger.postOnce(options.slack, {
      runId: event.runId,
      messageKey: `event:${eventKey}`,
      channel: root.channel,
      message: {
        ...renderNotification(event),
        thread_ts: root.ts,
        ...(isFailure(event) ? { reply_broadcast: true } : {}),
      },
      owner,
    });
    return { channel: reply.channel, ts: reply.ts, threadTs: root.ts, reused: reply.reused };
  }

  return {
    async notify(event, notifyOptions = {}) {
      const eventKey =
        notifyOptions.eventKey ?? `${event.kind}:${'env' in event && event.env ? event.env : '-'}`;
      const owner = randomUUID();
      const context = { runId: event.runId, kind: event.kind, eventKey };
      let lastError: unknown;
      let made = 0;
      try {
        return await retry(async (_signal, attempt) => {
          made = attempt;
          try {
            return { ok: true, ...(await once(event, eventKey, owner)), attempts: attempt };
          } catch (err) {
            log.warn(
              { ...context, attempt, code: codeOf(err), retryable: isRetryable(err) },
              'Slack notification failed',
            );
            throw err;
          }
        }, policy);
      } catch (err) {
        lastError = err;
      }
      const error = {
        code: codeOf(lastError),
        message: lastError instanceof Error ? lastError.message : String(lastError),
        retryable: isRetryable(lastError),
      };
      log.error({ ...context, code: error.code }, 'giving up on a Slack notification; the release goes on');
      return { ok: false, attempts: made, error };
    },
  };
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}
