import { cell, code, fitSummary, table } from '../markdown.js';
import { MAX_ANNOTATIONS, type Annotation, type GateResult } from '../types.js';
import {
  TRIVY_SEVERITIES,
  type TrivyFinding,
  type TrivyReport,
  type TrivySeverity,
} from './parse-trivy-report.js';

export interface TrivyIgnore {
  /** Vulnerability id (CVE-…, GHSA-…), misconfiguration id (DS002) or secret rule id. */
  id: string;
  /** Why it is acceptable; shown in the check run. */
  reason: string;
  /**
   * ISO date or date-time. A date (`2025-06-30`) ignores through the end of that day (UTC).
   * After it, the finding counts again and the output says the ignore expired.
   */
  expires?: string | undefined;
}

export interface TrivyPolicy {
  /** Severities that fail the gate. @defaultValue `['CRITICAL', 'HIGH']` */
  failOn?: readonly TrivySeverity[] | undefined;
  /** Skip vulnerabilities without a fixed version. @defaultValue false */
  ignoreUnfixed?: boolean | undefined;
  /** @defaultValue [] */
  ignore?: readonly TrivyIgnore[] | undefined;
  /** `fs` puts annotations on file lines; `image` findings are not in the repo. @defaultValue 'fs' */
  mode?: 'fs' | 'image' | undefined;
  /** Rows in the top-findings table. @defaultValue 25 */
  maxFindingsShown?: number | undefined;
}

export const DEFAULT_TRIVY_FAIL_ON: readonly TrivySeverity[] = ['CRITICAL', 'HIGH'];

const ICON: Record<TrivySeverity, string> = {
  CRITICAL: '🟥',
  HIGH: '🟧',
  MEDIUM: '🟨',
  LOW: '🟦',
  UNKNOWN: '⬜',
};

const DAY_MS = 86_400_000;

function expiresAt(expires: string): number | undefined {
  const dateOnly = /^\d{4}-\d{2}-\d{2}$/.test(expires);
  const ms = Date.parse(dateOnly ? `${expires}T00:00:00Z` : expires);
  if (Number.isNaN(ms)) return undefined;
  return dateOnly ? ms + DAY_MS : ms;
}

function isUnfixed(f: TrivyFinding): boolean {
  return f.kind === 'vulnerability' && !f.fixedVersion;
}

function where(f: TrivyFinding): string {
  if (f.kind === 'vulnerability') return `${f.pkgName ?? '?'} (${f.target})`;
  return f.startLine ? `${f.target}:${f.startLine}` : f.target;
}

/**
 * Applies the policy to a parsed report: pure, `now` passed in so expiry is testable. Counts
 * are of findings that still count (not ignored); ignored and unfixed-skipped are counted apart.
 */
export function evaluateTrivy(
  report: TrivyReport,
  policy: TrivyPolicy = {},
  now: Date = new Date(),
): GateResult {
  const failOn = new Set(policy.failOn ?? DEFAULT_TRIVY_FAIL_ON);
  const mode = policy.mode ?? 'fs';
  const maxShown = policy.maxFindingsShown ?? 25;
  const ignores = new Map<
    string,
    { ignore: TrivyIgnore; expired: boolean; invalid: boolean; used: number }
  >();
  for (const ignore of policy.ignore ?? []) {
    const at = ignore.expires === undefined ? undefined : expiresAt(ignore.expires);
    const invalid = ignore.expires !== undefined && at === undefined;
    // An unreadable expiry is treated as expired: fail closed, and the output says why.
    const expired = invalid || (at !== undefined && now.getTime() >= at);
    ignores.set(ignore.id, { ignore, expired, invalid, used: 0 });
  }

  const counts: Record<string, number> = Object.fromEntries(TRIVY_SEVERITIES.map((s) => [s, 0]));
  const active: TrivyFinding[] = [];
  const expiredHits = new Map<string, number>();
  let ignored = 0;
  let unfixedSkipped = 0;
  for (const f of report.findings) {
    if (policy.ignoreUnfixed && isUnfixed(f)) {
      unfixedSkipped += 1;
      continue;
    }
    const entry = ignores.get(f.id);
    if (entry && !entry.expired) {
      entry.used += 1;
      ignored += 1;
      continue;
    }
    if (entry?.expired) expiredHits.set(f.id, (expiredHits.get(f.id) ?? 0) + 1);
    active.push(f);
    counts[f.severity]! += 1;
  }
  for (const s of TRIVY_SEVERITIES) counts[s]! += report.omitted[s];
  const blocking = TRIVY_SEVERITIES.filter((s) => failOn.has(s)).reduce((n, s) => n + counts[s]!, 0);
  counts.ignored = ignored;
  counts.unfixedSkipped = unfixedSkipped;
  counts.blocking = blocking;

  const total = TRIVY_SEVERITIES.reduce((n, s) => n + counts[s]!, 0);
  const bySeverity = TRIVY_SEVERITIES.filter((s) => counts[s]! > 0)
    .map((s) => `${counts[s]} ${s}`)
    .join(', ');
  const title =
    blocking > 0
      ? `${blocking} blocking finding${blocking === 1 ? '' : 's'} (${bySeverity})`
      : total > 0
        ? `No blocking findings (${bySeverity})`
        : 'No findings';

  const lines: string[] = [];
  const artifact = report.artifactName ? ` of ${code(report.artifactName, 120)}` : '';
  lines.push(
    `Trivy ${mode} scan${artifact}. Fails on: ${[...failOn].join(', ') || 'nothing'}` +
      `${policy.ignoreUnfixed ? '; unfixed vulnerabilities skipped' : ''}.`,
    '',
    table(
      ['Severity', 'Count'],
      TRIVY_SEVERITIES.map((s) => [`${ICON[s]} ${s}${failOn.has(s) ? ' (fails)' : ''}`, String(counts[s])]),
    ),
    '',
    `Ignored by policy: ${ignored}${policy.ignoreUnfixed ? ` · unfixed skipped: ${unfixedSkipped}` : ''}`,
  );

  const expiredIgnores = [...ignores.values()].filter((e) => e.expired);
  if (expiredIgnores.length > 0) {
    lines.push('', '### ⚠️ Expired ignores', '');
    for (const e of expiredIgnores) {
      const hits = expiredHits.get(e.ignore.id) ?? 0;
      const why = e.invalid
        ? `has an unreadable expiry ${code(e.ignore.expires ?? '')}, so it is treated as expired`
        : `expired on ${cell(e.ignore.expires)}`;
      lines.push(
        `- ${code(e.ignore.id, 80)} ${why} (reason was: ${cell(e.ignore.reason, 200)}); ` +
          `it no longer ignores anything${hits > 0 ? ` — ${hits} finding${hits === 1 ? ' counts' : 's count'} again` : ''}.`,
      );
    }
  }
  if (report.unknownSeverities.length > 0) {
    lines.push(
      '',
      `Unknown severities in the report were counted as UNKNOWN: ${report.unknownSeverities.map((s) => code(s, 40)).join(', ')}.`,
    );
  }
  const omittedTotal = TRIVY_SEVERITIES.reduce((n, s) => n + report.omitted[s], 0);
  if (omittedTotal > 0) {
    lines.push(
      '',
      `The report was very large: ${omittedTotal} lower-severity findings are counted but not listed.`,
    );
  }
  if (report.malformedEntries > 0) {
    lines.push('', `${report.malformedEntries} malformed entries in the report were skipped.`);
  }

  if (active.length > 0) {
    lines.push('', `### Top findings`, '');
    const shown = active.slice(0, maxShown);
    lines.push(
      table(
        ['Severity', 'ID', 'Where', 'Installed', 'Fixed in', 'Title'],
        shown.map((f) => [
          `${ICON[f.severity]} ${f.severity}${failOn.has(f.severity) ? ' ❌' : ''}`,
          f.url ? `[${cell(f.id, 40)}](${encodeURI(f.url)})` : cell(f.id, 40),
          cell(where(f), 80),
          cell(f.installedVersion, 40),
          f.kind === 'vulnerability' ? cell(f.fixedVersion ?? 'no fix yet', 40) : '–',
          cell(f.title ?? f.message, 100),
        ]),
      ),
    );
    if (active.length > shown.length) lines.push('', `…and ${active.length - shown.length} more.`);
  }

  const usedIgnores = [...ignores.values()].filter((e) => !e.expired && e.used > 0);
  if (usedIgnores.length > 0) {
    lines.push('', '### Ignored by policy', '');
    for (const e of usedIgnores) {
      lines.push(
        `- ${code(e.ignore.id, 80)} ×${e.used}: ${cell(e.ignore.reason, 200)}${e.ignore.expires ? ` (until ${cell(e.ignore.expires)})` : ''}`,
      );
    }
  }

  const annotations: Annotation[] = [];
  if (mode === 'fs') {
    const annotatable = active.filter((f) => f.target !== '' && !f.target.startsWith('/'));
    for (const f of annotatable.slice(0, MAX_ANNOTATIONS)) {
      const line = f.startLine ?? 1;
      annotations.push({
        path: f.target,
        start_line: line,
        end_line: Math.max(line, f.endLine ?? line),
        annotation_level: failOn.has(f.severity) ? 'failure' : 'warning',
        title: `${f.severity} ${f.id}`.slice(0, 255),
        // A secret annotation names the rule, never the value.
        message: (f.kind === 'vulnerability'
          ? `${f.pkgName ?? ''} ${f.installedVersion ?? ''}: ${f.title ?? f.id}. ${f.fixedVersion ? `Fixed in ${f.fixedVersion}.` : 'No fixed version yet.'}`
          : f.kind === 'secret'
            ? `Possible secret (${f.title ?? f.id}) on this line. Remove it and rotate the credential.`
            : `${f.title ?? f.id}${f.message ? `: ${f.message}` : ''}`
        ).slice(0, 2000),
      });
    }
    if (annotatable.length > MAX_ANNOTATIONS) {
      lines.push('', `Annotations show the first ${MAX_ANNOTATIONS} of ${annotatable.length} findings.`);
    }
  }

  return {
    gate: 'trivy',
    conclusion: blocking > 0 ? 'failure' : 'success',
    title,
    summary: fitSummary(lines.join('\n')),
    annotations,
    counts,
    overrides: [...ignores.values()]
      .filter((e) => e.used > 0)
      .map((e) => ({
        id: e.ignore.id,
        reason: e.ignore.reason,
        expires: e.ignore.expires,
        findings: e.used,
      })),
  };
}
