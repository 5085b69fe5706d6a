import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { decodeButtonValue, APPROVE_ACTION_ID, REJECT_ACTION_ID } from './button-value.js';
import type { ApprovalClick } from '../approvals/types.js';
import {
  isShipgateError,
  SlackEnqueueFailed,
  SlackPayloadInvalid,
  SlackRequestReplayed,
  SlackSignatureInvalid,
  SlackTeamNotAllowed,
  type ShipgateError,
} from '../errors.js';
import type { Logger } from '../logger.js';
import { createRejectionLimiter, type RejectionLimiter } from '../http/rejection-limiter.js';
import { untilAborted } from '../retry/until-aborted.js';
import type { ReplayGuard } from './replay-guard.js';
import { blockActionsPayloadSchema, interactionEnvelopeSchema } from './schema.js';
import {
  assertFreshSlackTimestamp,
  SLACK_TIMESTAMP_WINDOW_SECONDS,
  verifySlackRequest,
} from './verify-slack-request.js';

export const SLACK_INTERACTIONS_PATH = '/slack/interactions';

export interface SlackInteractionsRoutesOptions {
  signingSecret: string;
  /**
   * Called once per Shipgate button click in a verified request; must only enqueue (durably) and
   * return. The route answers Slack after it resolves: 200, or 503 when it throws or is too slow.
   */
  onAction: (click: ApprovalClick, signal: AbortSignal) => Promise<void>;
  logger: Logger;
  /** @defaultValue `Date.now` */
  now?: () => number;
  /** Refuses a byte-identical re-send of a verified request (409). Recommended in production. */
  replayGuard?: ReplayGuard;
  /** Largest accepted body. Slack sends the whole message back, blocks included. @defaultValue 131072 (128 KiB) */
  bodyLimit?: number;
  /** Slack wants an answer within 3 s; `onAction` gets this long. @defaultValue 2500 */
  ackTimeoutMs?: number;
  /** When set, payloads from other workspaces are refused (403). */
  allowedTeamIds?: readonly string[];
  /**
   * Counts requests that fail verification, per client. Over its limit a client's failures are
   * answered 429 without a log line; a correctly signed click is never throttled.
   * @defaultValue 100 failures per client per minute
   */
  rejectionLimiter?: RejectionLimiter;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The client address, read in `onRequest` while the socket is surely there. */
    slackClient: string;
  }
}

const OUR_ACTIONS = new Set([APPROVE_ACTION_ID, REJECT_ACTION_ID]);

/**
 * `POST /slack/interactions` as an encapsulated fastify plugin: register it with
 * `app.register(slackInteractionsRoutes({...}))`. The form parser it adds keeps the raw body as a
 * string and applies only inside this plugin, so nothing is parsed before the signature is checked.
 */
export function slackInteractionsRoutes(options: SlackInteractionsRoutesOptions): FastifyPluginAsync {
  const now = options.now ?? Date.now;
  const bodyLimit = options.bodyLimit ?? 128 * 1024;
  const ackTimeoutMs = options.ackTimeoutMs ?? 2500;
  const log = options.logger.child({ component: 'slack-interactions' });
  const limiter = options.rejectionLimiter ?? createRejectionLimiter({ max: 100, timeWindowMs: 60_000 });

  return async function plugin(app) {
    // Only our parser in this scope: JSON or anything else is refused with 415 before it is parsed.
    app.decorateRequest('slackClient', '');
    app.removeAllContentTypeParsers();
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit },
      (_request, body, done) => done(null, body),
    );

    app.post(
      SLACK_INTERACTIONS_PATH,
      {
        bodyLimit,
        // Not the shared API limit: forged traffic must never use up the budget of real clicks.
        config: { apiRateLimit: false },
        // Refuse unsigned or stale requests from their headers alone, before the body is read.
        onRequest: async (request, reply) => {
          request.slackClient = request.ip ?? 'unknown';
          try {
            if (header(request, 'x-slack-signature') === undefined) throw SlackSignatureInvalid('missing');
            assertFreshSlackTimestamp(header(request, 'x-slack-request-timestamp'), now);
          } catch (err) {
            return refuse(reply, err as ShipgateError);
          }
        },
      },
      async (request, reply) => {
        const rawBody = typeof request.body === 'string' ? request.body : '';
        const signature = header(request, 'x-slack-signature');
        try {
          verifySlackRequest({
            signingSecret: options.signingSecret,
            signature,
            timestamp: header(request, 'x-slack-request-timestamp'),
            rawBody,
            now,
          });
        } catch (err) {
          return refuse(reply, err as ShipgateError);
        }

        const retryNum = Number(header(request, 'x-slack-retry-num') ?? '0');
        const retryReason = header(request, 'x-slack-retry-reason');
        if (options.replayGuard) {
          let first: boolean;
          try {
            first = await options.replayGuard.firstSeen(
              signature as string,
              2 * SLACK_TIMESTAMP_WINDOW_SECONDS,
            );
          } catch {
            return refuse(reply, SlackEnqueueFailed('replay guard unavailable'));
          }
          if (!first) {
            // Slack re-sending what it already delivered gets its ack; anyone else replaying is refused.
            if (retryNum > 0) return reply.code(200).send();
            return refuse(reply, SlackRequestReplayed());
          }
        }

        let clicks: ApprovalClick[];
        try {
          clicks = parseClicks(rawBody, {
            retryNum: Number.isInteger(retryNum) && retryNum >= 0 ? retryNum : 0,
            ...(retryReason !== undefined ? { retryReason } : {}),
            receivedAt: new Date(now()).toISOString(),
            allowedTeamIds: options.allowedTeamIds,
          });
        } catch (err) {
          return refuse(reply, err as ShipgateError);
        }

        for (const click of clicks) {
          try {
            // The signal reaches `onAction`, so work not yet started is not started late; an enqueue
            // already sent may still land, and Slack's retry of the click then finds its job id.
            const deadline = AbortSignal.timeout(ackTimeoutMs);
            await untilAborted(options.onAction(click, deadline), deadline);
          } catch (err) {
            log.error(
              { runId: click.runId, env: click.env, code: (err as { code?: string }).code },
              'could not hand a Slack click on',
            );
            await options.replayGuard?.forget(signature as string).catch(() => undefined);
            return refuse(reply, SlackEnqueueFailed(isShipgateError(err) ? err.code : 'onAction failed'));
          }
        }
        return reply.code(200).send();
      },
    );

    function refuse(reply: FastifyReply, err: ShipgateError): FastifyReply {
      if (!isShipgateError(err)) throw err;
      if (err.statusCode === 401) {
        const client = reply.request.slackClient;
        const retryAfter = limiter.blockedFor(client);
        limiter.record(client);
        if (retryAfter > 0) {
          return reply
            .code(429)
            .header('retry-after', String(retryAfter))
            .send({ code: 'SHIPGATE_E_RATE_LIMITED', message: 'too many requests that failed verification' });
        }
      }
      // Headers only: the body of a request that failed verification is never logged.
      log.warn({ code: err.code, reqId: reply.request.id }, 'Slack interaction refused');
      return reply.code(err.statusCode).send({ code: err.code, message: err.message });
    }
  };
}

interface ParseContext {
  retryNum: number;
  retryReason?: string;
  receivedAt: string;
  allowedTeamIds: readonly string[] | undefined;
}

/** From a verified form body to Shipgate clicks. Other interaction types and other buttons give none. */
function parseClicks(rawBody: string, context: ParseContext): ApprovalClick[] {
  const form = new URLSearchParams(rawBody);
  const payloadField = form.get('payload');
  if (payloadField === null) throw SlackPayloadInvalid('no payload field');
  let json: unknown;
  try {
    json = JSON.parse(payloadField);
  } catch {
    throw SlackPayloadInvalid('payload is not JSON');
  }
  const envelope = interactionEnvelopeSchema.safeParse(json);
  if (!envelope.success) throw SlackPayloadInvalid('payload has no type');
  if (envelope.data.type !== 'block_actions') return [];
  const parsed = blockActionsPayloadSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw SlackPayloadInvalid(
      `block_actions: ${first ? `${first.path.join('.')} ${first.message}` : 'invalid'}`,
    );
  }
  const payload = parsed.data;
  const teamId = payload.team?.id ?? payload.user.team_id;
  if (
    context.allowedTeamIds !== undefined &&
    (teamId === undefined || !context.allowedTeamIds.includes(teamId))
  ) {
    throw SlackTeamNotAllowed();
  }
  const clicks: ApprovalClick[] = [];
  for (const action of payload.actions) {
    if (!OUR_ACTIONS.has(action.action_id)) continue;
    if (action.value === undefined) throw SlackPayloadInvalid('Shipgate button without a value');
    const value = decodeButtonValue(action.value);
    const expected = value.decision === 'approve' ? APPROVE_ACTION_ID : REJECT_ACTION_ID;
    if (action.action_id !== expected) throw SlackPayloadInvalid('button value does not match its action');
    const channelId = payload.channel?.id ?? payload.container?.channel_id;
    const messageTs = payload.container?.message_ts ?? payload.message?.ts;
    const threadTs = payload.container?.thread_ts ?? payload.message?.thread_ts;
    const userName = payload.user.username ?? payload.user.name;
    clicks.push({
      ...value,
      userId: payload.user.id,
      ...(userName !== undefined ? { userName } : {}),
      ...(teamId !== undefined ? { teamId } : {}),
      ...(channelId !== undefined ? { channelId } : {}),
      ...(messageTs !== undefined ? { messageTs } : {}),
      ...(threadTs !== undefined ? { threadTs } : {}),
      ...(action.action_ts !== undefined ? { actionTs: action.action_ts } : {}),
      retryNum: context.retryNum,
      ...(context.retryReason !== undefined ? { retryReason: context.retryReason } : {}),
      receivedAt: context.receivedAt,
    });
  }
  return clicks;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}
