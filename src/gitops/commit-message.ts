import { GitopsRequestInvalid } from '../errors.js';
import { activeTraceId } from '../telemetry/trace-context.js';

/**
 * Commit messages with provenance trailers. The format is git's own (a final paragraph of
 * `Key: value` lines), so `git interpret-trailers --parse` and `git log --format=%(trailers)`
 * read them, and so do GitHub's UI and any audit script.
 */

/** Trailers every release commit carries. */
export interface ReleaseTrailers {
  shipgateRun: string;
  /** `owner/name` of the app repo. */
  sourceRepo: string;
  /** Full sha of the released commit. */
  sourceCommit: string;
  /** The exact image reference written (digest or tag). */
  image: string;
  /** One line, e.g. `tests=passed trivy=passed zap=passed`. */
  gates: string;
  /** Who approved (Slack ids or names); one trailer each. */
  approvedBy?: readonly string[];
  /**
   * `Shipgate-Trace`: the trace id of the release, so a commit leads to its whole trace.
   * @defaultValue the active span's trace id; no trailer when tracing is off
   */
  shipgateTrace?: string;
}

export interface CommitMessage {
  subject: string;
  body?: string;
  /** Ordered `Key: value` pairs. */
  trailers: readonly (readonly [string, string])[];
}

const TRAILER_KEY = /^[A-Za-z][A-Za-z0-9-]*$/;

/** Collapses control characters so a value cannot start a new trailer or paragraph. */
function oneLine(value: string, what: string): string {
  const cleaned = value
    .replace(/[\r\n\t\v\f]+/g, ' ')
    // eslint-disable-next-line no-control-regex -- stripping control characters is the point
    .replace(/[\x00-\x1f\x7f]/g, '')
    .trim();
  if (cleaned === '') throw GitopsRequestInvalid(`${what} is empty`);
  return cleaned;
}

export function releaseTrailerPairs(t: ReleaseTrailers): [string, string][] {
  const pairs: [string, string][] = [
    ['Shipgate-Run', t.shipgateRun],
    ['Source-Repo', t.sourceRepo],
    ['Source-Commit', t.sourceCommit],
    ['Image', t.image],
    ['Gates', t.gates],
  ];
  for (const who of t.approvedBy ?? []) pairs.push(['Approved-by', who]);
  const traceId = t.shipgateTrace ?? activeTraceId();
  if (traceId !== undefined) pairs.push(['Shipgate-Trace', traceId]);
  return pairs;
}

export function formatCommitMessage(message: CommitMessage): string {
  const subject = oneLine(message.subject, 'commit subject').slice(0, 200);
  const lines = [subject, ''];
  const body = message.body
    ?.replace(/\r\n?/g, '\n')
    // eslint-disable-next-line no-control-regex -- stripping control characters is the point
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')
    .trim();
  if (body) {
    // A body line shaped like a trailer would be read as one if it ended the message; the
    // trailer block always follows, so only that block's lines are trailers.
    lines.push(body, '');
  }
  for (const [key, value] of message.trailers) {
    if (!TRAILER_KEY.test(key))
      throw GitopsRequestInvalid(`trailer key ${JSON.stringify(key)} is not a token`);
    lines.push(`${key}: ${oneLine(value, `trailer ${key}`)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Trailers of a message: the last paragraph, when every line in it is `Key: value`. */
export function parseTrailers(message: string): [string, string][] {
  const paragraphs = message
    .replace(/\r\n?/g, '\n')
    .trim()
    .split(/\n{2,}/);
  if (paragraphs.length < 2) return [];
  const last = paragraphs[paragraphs.length - 1]!.split('\n');
  const pairs: [string, string][] = [];
  for (const line of last) {
    const match = /^([A-Za-z][A-Za-z0-9-]*):\s*(.*)$/.exec(line);
    if (!match) return [];
    pairs.push([match[1]!, match[2]!.trim()]);
  }
  return pairs;
}

/** All values of one trailer (case-insensitive key, as git compares them). */
export function trailerValues(pairs: readonly (readonly [string, string])[], key: string): string[] {
  const want = key.toLowerCase();
  return pairs.filter(([k]) => k.toLowerCase() === want).map(([, v]) => v);
}

export function trailerValue(pairs: readonly (readonly [string, string])[], key: string): string | undefined {
  return trailerValues(pairs, key).at(-1);
}
