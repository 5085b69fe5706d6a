import { escape } from './approval-message.js';

/** The release a notification is about. */
export interface ReleaseRef {
  runId: string;
  app: string;
  version: string;
  /** Channel id of the release thread. */
  channel: string;
  /** `owner/name` of the app repo. */
  repo?: string;
  sha?: string;
  releaserLogin?: string;
  /** Link to the run (status page or GitHub checks). */
  runUrl?: string;
}

export type ReleaseEvent =
  | (ReleaseRef & { kind: 'release-started' })
  | (ReleaseRef & { kind: 'environment-deployed'; env: string; url?: string })
  | (ReleaseRef & { kind: 'waiting-for-approval'; env: string; approvalUrl?: string })
  | (ReleaseRef & { kind: 'promoted'; env: string; approvedBy: string[] })
  | (ReleaseRef & { kind: 'failed'; env?: string; gate: string; reason: string })
  | (ReleaseRef & { kind: 'rolled-back'; env: string; gate: string; reason: string; revertCommit?: string })
  /** A rollback forced through a freeze window: always announced, with who and why. */
  | (ReleaseRef & { kind: 'break-glass'; env: string; actor: string; reason: string; freeze: string });

export type ReleaseEventKind = ReleaseEvent['kind'];

/** Failures are broadcast from the thread to the channel, so nobody has to open the thread to see them. */
export function isFailure(event: ReleaseEvent): boolean {
  return event.kind === 'failed' || event.kind === 'rolled-back' || event.kind === 'break-glass';
}

/** The first message of a release's thread. */
export function renderThreadRoot(release: ReleaseRef): { text: string } {
  const source =
    release.repo !== undefined
      ? ` from ${escape(release.repo)}${release.sha !== undefined ? `@${escape(release.sha.slice(0, 7))}` : ''}`
      : '';
  const by = release.releaserLogin !== undefined ? ` by ${escape(release.releaserLogin)}` : '';
  const link = safeLink(release.runUrl, 'run');
  return {
    text: `:rocket: Release *${escape(release.app)}* \`${escape(release.version)}\`${source}${by}${link ? ` · ${link}` : ''}`,
  };
}

/** One short line per event, posted in the release thread. */
export function renderNotification(event: ReleaseEvent): { text: string } {
  const subject = `*${escape(event.app)}* \`${escape(event.version)}\``;
  switch (event.kind) {
    case 'release-started':
      return { text: `:arrow_forward: ${subject}: release started; running the gates.` };
    case 'environment-deployed': {
      const link = safeLink(event.url, 'open');
      return {
        text: `:white_check_mark: ${subject} is live in *${escape(event.env)}*${link ? ` · ${link}` : ''}.`,
      };
    }
    case 'waiting-for-approval': {
      const link = safeLink(event.approvalUrl, 'approval request');
      return {
        text: `:hourglass_flowing_sand: ${subject} is waiting for approval to *${escape(event.env)}*${link ? ` · ${link}` : ''}.`,
      };
    }
    case 'promoted': {
      const by = event.approvedBy.length
        ? `, approved by ${event.approvedBy.map((u) => `<@${u}>`).join(', ')}`
        : '';
      return { text: `:tada: ${subject} promoted to *${escape(event.env)}*${by}.` };
    }
    case 'failed': {
      const where = event.env !== undefined ? ` in *${escape(event.env)}*` : '';
      return {
        text: `:x: ${subject} failed${where}: gate \`${escape(event.gate)}\`: ${escape(oneLine(event.reason))}`,
      };
    }
    case 'rolled-back': {
      const revert =
        event.revertCommit !== undefined ? ` (revert ${escape(event.revertCommit.slice(0, 7))})` : '';
      return {
        text: `:rewind: ${subject} rolled back in *${escape(event.env)}*${revert}: gate \`${escape(event.gate)}\`: ${escape(oneLine(event.reason))}`,
      };
    }
    case 'break-glass':
      return {
        text: `:rotating_light: Break-glass: ${escape(event.actor)} rolls ${subject} back in *${escape(event.env)}* during a freeze (${escape(oneLine(event.freeze))}): ${escape(oneLine(event.reason))}`,
      };
  }
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

function safeLink(url: string | undefined, label: string): string | undefined {
  if (url === undefined) return undefined;
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
    return `<${parsed.href.replace(/\|/g, '%7C').replace(/>/g, '%3E')}|${label}>`;
  } catch {
    return undefined;
  }
}
