/** Markdown helpers for check-run output, where every value may come from a hostile report. */

/** GitHub rejects check-run summaries over 65 535 characters. */
export const MAX_SUMMARY_CHARS = 65_000;

/** One table cell: no pipes, no newlines, no raw HTML, bounded length. */
export function cell(value: string | number | undefined, maxChars = 120): string {
  if (value === undefined || value === '') return '–';
  let text = String(value).replace(/\s+/g, ' ').trim();
  if (text.length > maxChars) text = `${text.slice(0, maxChars - 1)}…`;
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Inline code that survives backticks in the value. */
export function code(value: string, maxChars = 200): string {
  let text = value.replace(/\s+/g, ' ');
  if (text.length > maxChars) text = `${text.slice(0, maxChars - 1)}…`;
  const fence = '`'.repeat(longestRun(text, '`') + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** A fenced block whose fence is longer than any backtick run inside. */
export function codeBlock(text: string, lang = ''): string {
  const fence = '`'.repeat(Math.max(3, longestRun(text, '`') + 1));
  return `${fence}${lang}\n${text.replace(/\n$/, '')}\n${fence}`;
}

function longestRun(text: string, ch: string): number {
  let best = 0;
  let run = 0;
  for (const c of text) {
    run = c === ch ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}

/** The last `maxLines` lines and at most `maxChars` characters of a log. */
export function logTail(text: string, maxLines = 80, maxChars = 12_000): string {
  let lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines.length > maxLines) lines = lines.slice(-maxLines);
  let tail = lines.join('\n');
  if (tail.length > maxChars) tail = tail.slice(-maxChars);
  // Terminal colour codes are noise in a check run.
  // eslint-disable-next-line no-control-regex
  return tail.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '');
}

export function table(headers: string[], rows: string[][]): string {
  return [
    `| ${headers.join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

/** Keeps a summary under GitHub's limit, saying so when it had to cut. */
export function fitSummary(markdown: string, maxChars = MAX_SUMMARY_CHARS): string {
  if (markdown.length <= maxChars) return markdown;
  const note = '\n\n_…output truncated to fit the check run._';
  return markdown.slice(0, maxChars - note.length) + note;
}
