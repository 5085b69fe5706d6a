import type { ApprovalRequest } from './types.js';

/**
 * Values for the production commit's `Approved-by:` trailers, one per approver, oldest first:
 * `bob (Slack U0BOB) 2025-06-02T10:05:00.000Z`. The Slack id is the stable identity; the name is
 * what the approver was called when they clicked.
 */
export function approvedByTrailerValues(request: Pick<ApprovalRequest, 'status' | 'votes'>): string[] {
  if (request.status !== 'approved') return [];
  return request.votes
    .filter((v) => v.decision === 'approve')
    .map((v) => `${sanitize(v.userName ?? v.userId)} (Slack ${sanitize(v.userId)}) ${v.at.toISOString()}`);
}

/** A trailer value is one line; names come from Slack, so keep them to printable, single-line text. */
function sanitize(text: string): string {
  return text
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[^\x20-\x7e\u00a0-\uffff]/g, '')
    .trim()
    .slice(0, 100);
}
