/**
 * YAML paths in the form people read in annotations: `environments[1].name`,
 * `scan.trivy.ignore[0].expires`, `repos.grants["acme/web-shop"].app`.
 * Sequence indexes are written `[n]`; map keys are bare when they are simple words and
 * JSON-quoted in brackets otherwise, so every path round-trips through `parseYamlPath`.
 */

export type YamlPathSegment = string | number;

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

export function formatYamlPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') {
      out += `[${segment}]`;
    } else {
      const key = String(segment);
      if (BARE_KEY.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/** Inverse of `formatYamlPath`. Throws a `SyntaxError` on malformed input (a programming error). */
export function parseYamlPath(text: string): YamlPathSegment[] {
  const segments: YamlPathSegment[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '.') {
      if (segments.length === 0) throw new SyntaxError(`YAML path "${text}" must not start with "."`);
      i += 1;
      continue;
    }
    if (ch === '[') {
      if (text[i + 1] === '"') {
        const end = findClosingQuote(text, i + 2);
        if (end < 0 || text[end + 1] !== ']')
          throw new SyntaxError(`unterminated key in YAML path "${text}"`);
        segments.push(JSON.parse(text.slice(i + 1, end + 1)) as string);
        i = end + 2;
      } else {
        const end = text.indexOf(']', i);
        const digits = end < 0 ? '' : text.slice(i + 1, end);
        if (!/^\d+$/.test(digits)) throw new SyntaxError(`bad index in YAML path "${text}"`);
        segments.push(Number(digits));
        i = end + 1;
      }
      continue;
    }
    let end = i;
    while (end < text.length && text[end] !== '.' && text[end] !== '[') end += 1;
    segments.push(text.slice(i, end));
    i = end;
  }
  return segments;
}

function findClosingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i += 1) {
    if (text[i] === '\\') i += 1;
    else if (text[i] === '"') return i;
  }
  return -1;
}
