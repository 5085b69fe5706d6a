import { tokenMasker } from '../masking/secret-masker.js';
import { RUN_LIMITS } from '../runs/run-types.js';

/**
 * An approver's comment on a decision is untrusted text: whoever may decide types it, and every
 * viewer of the run reads it back. It is kept bounded (it rides in the decision job and in the
 * run record, which stay small), without control characters (a terminal escape in `shipgate
 * runs` or a NUL in a log line), and with anything shaped like a token masked, because a pasted
 * token would otherwise be shown to every viewer. The console escapes it when it renders it.
 */
export const APPROVAL_COMMENT_MAX_CHARS = RUN_LIMITS.approvalCommentChars;

/** The comment as stored; undefined for no comment or one that is only whitespace. */
export function approvalCommentOf(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  // Keep newlines and tabs; drop other C0/C1 controls and DEL.
  // eslint-disable-next-line no-control-regex
  const clean = tokenMasker.mask(text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '')).trim();
  if (clean === '') return undefined;
  if (clean.length <= APPROVAL_COMMENT_MAX_CHARS) return clean;
  // Never cut a surrogate pair in half.
  let cut = APPROVAL_COMMENT_MAX_CHARS - 1;
  const code = clean.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
  return `${clean.slice(0, cut)}…`;
}
