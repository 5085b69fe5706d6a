import { z } from 'zod';

/**
 * Trivy `--format json` (SchemaVersion 2), only the fields Shipgate uses. zod drops every
 * other key, which is how a secret's `Match` and `Code` (they contain the secret) never get
 * past this boundary. Each list entry is parsed on its own so one odd entry cannot hide the rest.
 */
const optionalString = z.string().optional().catch(undefined);
const optionalLine = z.number().int().nonnegative().optional().catch(undefined);

export const trivyReportSchema = z.object({
  SchemaVersion: z.number(),
  ArtifactName: optionalString,
  ArtifactType: optionalString,
  Results: z.array(z.unknown()).nullish().catch(undefined),
});

export const trivyResultSchema = z.object({
  Target: z.string().catch(''),
  Class: optionalString,
  Type: optionalString,
  Vulnerabilities: z.array(z.unknown()).nullish().catch(undefined),
  Misconfigurations: z.array(z.unknown()).nullish().catch(undefined),
  Secrets: z.array(z.unknown()).nullish().catch(undefined),
});

export const trivyVulnerabilitySchema = z.object({
  VulnerabilityID: z.string().min(1),
  PkgName: optionalString,
  InstalledVersion: optionalString,
  FixedVersion: optionalString,
  Status: optionalString,
  Severity: optionalString,
  Title: optionalString,
  PrimaryURL: optionalString,
});

export const trivyMisconfigurationSchema = z.object({
  ID: z.string().min(1),
  AVDID: optionalString,
  Title: optionalString,
  Message: optionalString,
  Resolution: optionalString,
  Severity: optionalString,
  Status: optionalString,
  PrimaryURL: optionalString,
  CauseMetadata: z
    .object({ StartLine: optionalLine, EndLine: optionalLine, Resource: optionalString })
    .optional()
    .catch(undefined),
});

/** Deliberately without `Match` and `Code`: they hold the secret itself. */
export const trivySecretSchema = z.object({
  RuleID: z.string().min(1),
  Category: optionalString,
  Severity: optionalString,
  Title: optionalString,
  StartLine: optionalLine,
  EndLine: optionalLine,
});
