import { ACTION_ID_BY_DECISION, encodeButtonValue } from './button-value.js';
import type {
  ApprovalMessageContent,
  ApprovalRequest,
  ApprovalStatus,
  ApprovalVote,
  GateSummary,
} from '../approvals/types.js';

/**
 * Block Kit for the approval request and its later states. Pure: from content and request state to
 * `{ text, blocks }`, so the layout is tested without Slack.
 */

export const APPROVAL_ACTIONS_BLOCK_ID = 'shipgate_approval';

export interface RenderedMessage {
  /** Notification and accessibility fallback. */
  text: string;
  blocks: Record<string, unknown>[];
}

export interface ApprovalMessageState {
  status: ApprovalStatus;
  nonce: string;
  required: number;
  expiresAt: Date;
  votes: readonly ApprovalVote[];
  decidedAt?: Date;
  /** The superseding run id, when superseded. */
  decidedBy?: string;
}

export function approvalStateOf(request: ApprovalRequest): ApprovalMessageState {
  return {
    status: request.status,
    nonce: request.nonce,
    required: request.rule.required,
    expiresAt: request.expiresAt,
    votes: request.votes,
    ...(request.decidedAt ? { decidedAt: request.decidedAt } : {}),
    ...(request.decidedBy ? { decidedBy: request.decidedBy } : {}),
  };
}

/** The message for a request in any state: buttons while open, the outcome (who, when) after. */
export function renderApprovalMessage(
  content: ApprovalMessageContent,
  state: ApprovalMessageState,
): RenderedMessage {
  const subject = `${content.app} ${content.version}: ${content.fromEnv} → ${content.toEnv}`;
  const blocks: Record<string, unknown>[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: truncate(`Promote ${subject}?`, 150), emoji: true },
    },
    {
      type: 'section',
      fields: [
        mrkdwn(`*App*\n${escape(content.app)}`),
        mrkdwn(`*Version*\n\`${escape(content.version)}\``),
        mrkdwn(`*From → to*\n${escape(content.fromEnv)} → *${escape(content.toEnv)}*`),
        mrkdwn(`*Released by*\n${content.releaserLogin ? escape(content.releaserLogin) : 'unknown'}`),
      ],
    },
    { type: 'section', text: mrkdwn(gateLines(content.gates)) },
  ];
  const links = linkLine(content.links);
  if (links) blocks.push({ type: 'context', elements: [mrkdwn(links)] });

  const approvers = state.votes.filter((v) => v.decision === 'approve');
  if (state.status === 'open') {
    const progress =
      approvers.length === 0
        ? `Needs ${plural(state.required, 'approval')}.`
        : `${approvers.length} of ${state.required} approvals: ${approvers.map((v) => `<@${v.userId}>`).join(', ')}.`;
    blocks.push({
      type: 'context',
      elements: [mrkdwn(`${progress} Expires ${slackDate(state.expiresAt)}.`)],
    });
    blocks.push({
      type: 'actions',
      block_id: APPROVAL_ACTIONS_BLOCK_ID,
      elements: [
        {
          type: 'button',
          action_id: ACTION_ID_BY_DECISION.approve,
          text: { type: 'plain_text', text: 'Approve', emoji: true },
          style: 'primary',
          value: encodeButtonValue({
            runId: content.runId,
            env: content.toEnv,
            nonce: state.nonce,
            decision: 'approve',
          }),
        },
        {
          type: 'button',
          action_id: ACTION_ID_BY_DECISION.reject,
          text: { type: 'plain_text', text: 'Reject', emoji: true },
          style: 'danger',
          value: encodeButtonValue({
            runId: content.runId,
            env: content.toEnv,
            nonce: state.nonce,
            decision: 'reject',
          }),
          confirm: {
            title: { type: 'plain_text', text: 'Reject this release?' },
            text: mrkdwn(
              `This stops the promotion of *${escape(content.app)} ${escape(content.version)}* to *${escape(content.toEnv)}*.`,
            ),
            confirm: { type: 'plain_text', text: 'Reject' },
            deny: { type: 'plain_text', text: 'Cancel' },
            style: 'danger',
          },
        },
      ],
    });
    return { text: `Approval needed: ${subject}`, blocks };
  }

  const outcome = outcomeLine(state, approvers);
  blocks.push({ type: 'section', text: mrkdwn(outcome) });
  return { text: `${subject}: ${state.status}`, blocks };
}

function outcomeLine(state: ApprovalMessageState, approvers: ApprovalVote[]): string {
  const who = (votes: ApprovalVote[]) => votes.map((v) => `<@${v.userId}> ${slackDate(v.at)}`).join(', ');
  switch (state.status) {
    case 'approved':
      return `:white_check_mark: *Approved* by ${who(approvers)}.`;
    case 'rejected': {
      const rejecter = state.votes.filter((v) => v.decision === 'reject');
      return `:x: *Rejected* by ${who(rejecter)}.`;
    }
    case 'expired':
      return `:hourglass: *Expired* ${slackDate(state.decidedAt ?? state.expiresAt)} without ${plural(state.required, 'approval')}.`;
    case 'superseded':
      return `:fast_forward: *Superseded*${state.decidedBy ? ` by run \`${escape(state.decidedBy)}\`` : ''} ${state.decidedAt ? slackDate(state.decidedAt) : ''}. These buttons no longer work.`.replace(
        / \./,
        '.',
      );
    default:
      return '';
  }
}

/** One line per gate that ran. */
export function gateLines(gates: GateSummary): string {
  const lines: string[] = ['*Gates*'];
  if (gates.tests) {
    const t = gates.tests;
    const icon =
      t.status === 'passed' ? ':white_check_mark:' : t.status === 'failed' ? ':x:' : ':white_circle:';
    const counts = [
      t.passed !== undefined ? `${t.passed} passed` : undefined,
      t.failed !== undefined ? `${t.failed} failed` : undefined,
      t.skipped !== undefined ? `${t.skipped} skipped` : undefined,
    ].filter(Boolean);
    lines.push(`${icon} Tests: ${t.status}${counts.length ? ` (${counts.join(', ')})` : ''}`);
  }
  if (gates.trivy) {
    const v = gates.trivy;
    const icon = v.critical + v.high > 0 ? ':warning:' : ':white_check_mark:';
    const parts = [`critical ${v.critical}`, `high ${v.high}`, `medium ${v.medium}`, `low ${v.low}`];
    if (v.unknown !== undefined) parts.push(`unknown ${v.unknown}`);
    lines.push(`${icon} Trivy: ${parts.join(' · ')}`);
  }
  if (gates.zap) {
    const z = gates.zap;
    const icon = z.high > 0 ? ':warning:' : ':white_check_mark:';
    lines.push(
      `${icon} ZAP: high ${z.high} · medium ${z.medium} · low ${z.low} · informational ${z.informational}`,
    );
  }
  if (lines.length === 1) lines.push('No gate results recorded.');
  return lines.join('\n');
}

function linkLine(links: ApprovalMessageContent['links']): string | undefined {
  const parts = [
    link(links.checks, 'GitHub checks'),
    link(links.envRepoDiff, 'Env-repo diff'),
    link(links.argocdApp, 'Argo CD app'),
    link(links.run, 'Shipgate run'),
  ].filter((p): p is string => p !== undefined);
  return parts.length ? parts.join(' · ') : undefined;
}

/** Only http(s) links, with the characters that would break `<url|label>` encoded. */
function link(url: string | undefined, label: string): string | undefined {
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
  const safe = parsed.href.replace(/\|/g, '%7C').replace(/</g, '%3C').replace(/>/g, '%3E');
  return `<${safe}|${label}>`;
}

/** Slack's date token: shown in each reader's time zone, with an ISO fallback. */
export function slackDate(date: Date): string {
  return `<!date^${Math.floor(date.getTime() / 1000)}^{date_short_pretty} {time}|${date.toISOString()}>`;
}

/** mrkdwn control characters (https://docs.slack.dev/messaging/formatting-message-text#escaping). */
export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function mrkdwn(text: string): { type: 'mrkdwn'; text: string } {
  return { type: 'mrkdwn', text: truncate(text, 3000) };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
