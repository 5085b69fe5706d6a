import { ReportInvalid } from '../../errors.js';
import {
  trivyMisconfigurationSchema,
  trivyReportSchema,
  trivyResultSchema,
  trivySecretSchema,
  trivyVulnerabilitySchema,
} from './schema.js';

export const TRIVY_SEVERITIES = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'] as const;
export type TrivySeverity = (typeof TRIVY_SEVERITIES)[number];

export interface TrivyFinding {
  kind: 'vulnerability' | 'misconfiguration' | 'secret';
  /** CVE/GHSA id, misconfiguration id (DS002) or secret rule id (github-pat). */
  id: string;
  severity: TrivySeverity;
  /** File (fs mode) or image layer target the finding is in. */
  target: string;
  title?: string | undefined;
  pkgName?: string | undefined;
  installedVersion?: string | undefined;
  fixedVersion?: string | undefined;
  status?: string | undefined;
  url?: string | undefined;
  startLine?: number | undefined;
  endLine?: number | undefined;
  message?: string | undefined;
}

export interface TrivyReport {
  schemaVersion: 2;
  artifactName: string | undefined;
  artifactType: string | undefined;
  /** Kept findings, most severe first (at most `maxFindings`). */
  findings: TrivyFinding[];
  /** Findings left out by the `maxFindings` cap, by severity (the least severe go first). */
  omitted: Record<TrivySeverity, number>;
  /** Severity values Trivy does not define, seen in the report (each counted as UNKNOWN). */
  unknownSeverities: string[];
  /** List entries that were not objects of the expected shape (skipped, counted). */
  malformedEntries: number;
}

export interface ParseTrivyOptions {
  /** @defaultValue 5000 */
  maxFindings?: number | undefined;
}

const RANK: Record<TrivySeverity, number> = { CRITICAL: 0, HIGH: 1, MEDIUM: 2, LOW: 3, UNKNOWN: 4 };

function severityOf(raw: string | undefined, unknown: Set<string>): TrivySeverity {
  const upper = (raw ?? 'UNKNOWN').trim().toUpperCase();
  if ((TRIVY_SEVERITIES as readonly string[]).includes(upper)) return upper as TrivySeverity;
  unknown.add(raw ?? '');
  return 'UNKNOWN';
}

function zeroCounts(): Record<TrivySeverity, number> {
  return { CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, UNKNOWN: 0 };
}

/**
 * Parses Trivy JSON (SchemaVersion 2) from text: every shape Trivy has written since 0.20 —
 * no `Results` key (nothing scanned), `null` lists, misconfigurations, secrets (their values
 * are dropped here), unknown severities. Throws `SHIPGATE_E_REPORT_INVALID` for text that is
 * not such a report (truncated JSON, another schema), so a broken scan never reads as clean.
 */
export function parseTrivyReport(text: string, options: ParseTrivyOptions = {}): TrivyReport {
  const maxFindings = options.maxFindings ?? 5000;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw ReportInvalid('Trivy', `not valid JSON (${(err as Error).message.slice(0, 120)}); truncated?`);
  }
  const top = trivyReportSchema.safeParse(json);
  if (!top.success) throw ReportInvalid('Trivy', 'not a Trivy JSON report (no SchemaVersion)');
  if (top.data.SchemaVersion !== 2) {
    throw ReportInvalid('Trivy', `SchemaVersion ${top.data.SchemaVersion} is not supported (expected 2)`);
  }
  const unknown = new Set<string>();
  let malformed = 0;
  const findings: TrivyFinding[] = [];

  for (const rawResult of top.data.Results ?? []) {
    const result = trivyResultSchema.safeParse(rawResult);
    if (!result.success) {
      malformed += 1;
      continue;
    }
    const target = result.data.Target;
    for (const raw of result.data.Vulnerabilities ?? []) {
      const v = trivyVulnerabilitySchema.safeParse(raw);
      if (!v.success) {
        malformed += 1;
        continue;
      }
      findings.push({
        kind: 'vulnerability',
        id: v.data.VulnerabilityID,
        severity: severityOf(v.data.Severity, unknown),
        target,
        title: v.data.Title,
        pkgName: v.data.PkgName,
        installedVersion: v.data.InstalledVersion,
        fixedVersion: v.data.FixedVersion || undefined,
        status: v.data.Status,
        url: v.data.PrimaryURL,
      });
    }
    for (const raw of result.data.Misconfigurations ?? []) {
      const m = trivyMisconfigurationSchema.safeParse(raw);
      if (!m.success) {
        malformed += 1;
        continue;
      }
      // Trivy lists passed checks only with --include-non-failures; they are not findings.
      if (m.data.Status !== undefined && m.data.Status.toUpperCase() !== 'FAIL') continue;
      findings.push({
        kind: 'misconfiguration',
        id: m.data.ID,
        severity: severityOf(m.data.Severity, unknown),
        target,
        title: m.data.Title,
        message: m.data.Message ?? m.data.Resolution,
        url: m.data.PrimaryURL,
        startLine: m.data.CauseMetadata?.StartLine || undefined,
        endLine: m.data.CauseMetadata?.EndLine || undefined,
      });
    }
    for (const raw of result.data.Secrets ?? []) {
      const s = trivySecretSchema.safeParse(raw);
      if (!s.success) {
        malformed += 1;
        continue;
      }
      findings.push({
        kind: 'secret',
        id: s.data.RuleID,
        severity: severityOf(s.data.Severity, unknown),
        target,
        title: s.data.Title ?? s.data.Category,
        startLine: s.data.StartLine || undefined,
        endLine: s.data.EndLine || undefined,
      });
    }
  }

  findings.sort((a, b) => RANK[a.severity] - RANK[b.severity]);
  const omitted = zeroCounts();
  for (const f of findings.slice(maxFindings)) omitted[f.severity] += 1;
  findings.length = Math.min(findings.length, maxFindings);
  return {
    schemaVersion: 2,
    artifactName: top.data.ArtifactName,
    artifactType: top.data.ArtifactType,
    findings,
    omitted,
    unknownSeverities: [...unknown].slice(0, 20),
    malformedEntries: malformed,
  };
}
