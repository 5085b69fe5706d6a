import { z } from 'zod';
import { GithubInvalidInput } from '../errors.js';

/** GitHub refuses check-run `output.summary` / `output.text` longer than this. */
export const OUTPUT_TEXT_MAX_CHARS = 65_535;
/** GitHub accepts at most this many annotations per create or update request. */
export const ANNOTATIONS_PER_REQUEST = 50;
/**
 * Shipgate's own cap: every 50 annotations cost one write request (and one second of write
 * spacing), and nobody reads the 1001st annotation. The summary says how many were left out.
 */
export const MAX_ANNOTATIONS = 1000;
const ANNOTATION_TITLE_MAX_CHARS = 255;
const ANNOTATION_MESSAGE_MAX_CHARS = 65_535;

export const CHECK_CONCLUSIONS = [
  'success',
  'failure',
  'neutral',
  'cancelled',
  'timed_out',
  'action_required',
  'skipped',
] as const;
export type CheckConclusion = (typeof CHECK_CONCLUSIONS)[number];

const AnnotationSchema = z
  .object({
    path: z
      .string()
      .min(1)
      .refine((p) => !p.startsWith('/'), 'must be relative to the repository root'),
    start_line: z.number().int().min(1),
    end_line: z.number().int().min(1),
    start_column: z.number().int().min(1).optional(),
    end_column: z.number().int().min(1).optional(),
    annotation_level: z.enum(['notice', 'warning', 'failure']),
    message: z.string().min(1),
    title: z.string().optional(),
    raw_details: z.string().optional(),
  })
  .refine((a) => a.end_line >= a.start_line, { message: 'end_line is before start_line' })
  // GitHub: "start_column and end_column ... only when start_line and end_line are the same".
  .refine(
    (a) => (a.start_column === undefined && a.end_column === undefined) || a.start_line === a.end_line,
    { message: 'columns are only allowed on single-line annotations' },
  );

export type CheckAnnotation = z.input<typeof AnnotationSchema>;

/** Cuts `text` to GitHub's limit, never inside a surrogate pair, and says that it did. */
export function truncateOutputText(text: string, max = OUTPUT_TEXT_MAX_CHARS): string {
  if (text.length <= max) return text;
  const marker = '\n\n… (truncated by Shipgate: GitHub limits this field to 65535 characters)';
  let cut = max - marker.length;
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return text.slice(0, cut) + marker;
}

/** Validates every annotation (naming the first bad one) and trims over-long text fields. */
export function prepareAnnotations(annotations: readonly CheckAnnotation[]): {
  annotations: CheckAnnotation[];
  dropped: number;
} {
  const prepared = annotations.map((annotation, index) => {
    const result = AnnotationSchema.safeParse(annotation);
    if (!result.success) {
      const issue = result.error.issues[0];
      const field = issue && issue.path.length > 0 ? issue.path.join('.') : 'annotation';
      throw GithubInvalidInput(
        'check run annotations',
        `annotation ${index} (${String(annotation.path)}): ${field}: ${issue?.message ?? 'invalid'}`,
      );
    }
    const a = result.data;
    return {
      ...a,
      message: truncateOutputText(a.message, ANNOTATION_MESSAGE_MAX_CHARS),
      ...(a.title !== undefined ? { title: a.title.slice(0, ANNOTATION_TITLE_MAX_CHARS) } : {}),
      ...(a.raw_details !== undefined
        ? { raw_details: truncateOutputText(a.raw_details, ANNOTATION_MESSAGE_MAX_CHARS) }
        : {}),
    };
  });
  return {
    annotations: prepared.slice(0, MAX_ANNOTATIONS),
    dropped: Math.max(0, prepared.length - MAX_ANNOTATIONS),
  };
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
