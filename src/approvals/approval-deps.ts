import type { Logger } from '../logger.js';
import type { MessageLedger } from '../slack/message-ledger.js';
import type { SlackClient } from '../slack/slack-client.js';
import type { SlackUserDirectory } from '../slack/user-directory.js';
import type { ApprovalStore } from './approval-store.js';

/** What the approval flows talk to. Built once per process by the caller. */
export interface ApprovalDeps {
  store: ApprovalStore;
  slack: SlackClient;
  ledger: MessageLedger;
  directory: SlackUserDirectory;
  logger: Logger;
  /** Read through a function so tests can move time (expiry). @defaultValue `() => new Date()` */
  now?: () => Date;
}

export function clockOf(deps: ApprovalDeps): Date {
  return deps.now ? deps.now() : new Date();
}
