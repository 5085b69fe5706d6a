import { z } from 'zod';

/**
 * ZAP's traditional JSON report (`-J`), in the layouts ZAP has written: 2.8 (no
 * `@programName`, no `alertRef`) through 2.14+, `site` as an array or a single object,
 * numbers as strings or numbers. Unknown keys are dropped.
 */
const text = z
  .union([z.string(), z.number()])
  .transform((v) => String(v))
  .optional()
  .catch(undefined);

export const zapReportSchema = z
  .object({
    '@programName': text,
    '@version': text,
    '@generated': text,
    site: z.union([z.array(z.unknown()), z.record(z.string(), z.unknown())]).optional(),
  })
  .refine((r) => r['@version'] !== undefined || r['@programName'] !== undefined || r.site !== undefined, {
    message: 'no @version, @programName or site',
  });

export const zapSiteSchema = z.object({
  '@name': text,
  '@host': text,
  '@port': text,
  alerts: z.array(z.unknown()).nullish().catch(undefined),
});

export const zapInstanceSchema = z.object({
  uri: z.string().catch(''),
  method: text,
  param: text,
  attack: text,
  evidence: text,
});

export const zapAlertSchema = z.object({
  pluginid: text,
  alertRef: text,
  alert: text,
  name: text,
  riskcode: text,
  confidence: text,
  riskdesc: text,
  solution: text,
  cweid: text,
  count: text,
  instances: z.array(z.unknown()).nullish().catch(undefined),
});
