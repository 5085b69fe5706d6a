import type { Logger } from '../logger.js';
import type { MessageLedger } from '../slack/message-ledger.js';
import type { SlackClient } from '../slack/slack-client.js';
import type { SlackUserDirectory } from '../slack/user-directory.js';
import type { ApprovalStore } from './approval-store.js';

/** What the approval flows talk to. Built once per process by the caller. */
export interface ApprovalDeps {
  /** The one approval store: Slack clicks, API and CLI decisions all count here. */
  store: ApprovalStore;
  /**
   * Slack, when SLACK_BOT_TOKEN is set. Without it a request is stored but not posted, votes
   * come from the API and CLI only, and only the users the policy lists by id can approve (user
   * groups need Slack to resolve).
   */
  slack?: SlackClient | undefined;
  ledger?: MessageLedger | undefined;
  directory?: SlackUserDirectory | undefined;
  logger: Logger;
  /** Read through a function so tests can move time (expiry). @defaultValue `() => new Date()` */
  now?: () => Date;
}

export function clockOf(deps: ApprovalDeps): Date {
  return deps.now ? deps.now() : new Date();
}
