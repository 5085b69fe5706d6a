import { z } from 'zod';

/**
 * One decision in the audit trail. Everything that enters the stream is parsed with this schema
 * and every entry read back is parsed again, so readers can trust the shape.
 */
export const AUDIT_KINDS = ['approval', 'rejection', 'rollback', 'policy-version', 'gate-override'] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

export const AUDIT_VIA = ['slack', 'api', 'cli', 'system'] as const;

const short = z.string().min(1).max(200);

export const AuditEntryInputSchema = z
  .object({
    kind: z.enum(AUDIT_KINDS),
    /** Who decided: a Slack user id, a GitHub login, `shipgate` for the engine's own decisions. */
    actor: short,
    /** Where the decision came from. */
    via: z.enum(AUDIT_VIA),
    /** ISO 8601 of the decision (not of the write). */
    at: z.iso.datetime(),
    runId: z.string().max(64).optional(),
    app: z.string().max(100).optional(),
    env: z.string().max(100).optional(),
    /** What it came to: `approved`, `recorded`, `refused`, `started`, `picked-up`, `ignored`… */
    outcome: z.string().min(1).max(64),
    reason: z.string().max(2000),
    /** Rollbacks only: the change bypassed the usual approvals. */
    breakGlass: z.boolean().optional(),
    /** Small structured facts (policy commit, ignore id and expiry); at most 4 KiB serialised. */
    details: z
      .record(z.string(), z.union([z.string().max(500), z.number(), z.boolean(), z.null()]))
      .refine((d) => JSON.stringify(d).length <= 4096, 'details over 4 KiB')
      .optional(),
  })
  .strict();
export type AuditEntryInput = z.input<typeof AuditEntryInputSchema>;

export type AuditEntry = z.infer<typeof AuditEntryInputSchema> & {
  /** The Redis stream id: the entry's position, unique and increasing; also the paging cursor. */
  id: string;
};

/** Filters of `GET /api/audit` and `shipgate audit export`. */
export const AuditQuerySchema = z
  .object({
    /** ISO 8601 or a stream id: entries at or after it. */
    since: z.string().max(40).optional(),
    until: z.string().max(40).optional(),
    kind: z.enum(AUDIT_KINDS).optional(),
    app: z.string().max(100).optional(),
    env: z.string().max(100).optional(),
    run: z.string().max(64).optional(),
    actor: z.string().max(200).optional(),
    /** The last id of the previous page; the next page starts after it. */
    cursor: z
      .string()
      .regex(/^\d{1,15}-\d{1,10}$/)
      .optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();
export type AuditQuery = z.input<typeof AuditQuerySchema>;
