import { createTwoFilesPatch } from 'diff';
import type { RenderedFile } from './types.js';

/**
 * A unified diff between what the env repo holds for one path and what a render produced,
 * cut to a budget so it fits in a check run: each file's patch is capped, and once the total
 * budget is spent, later files are listed by name instead. The output always says what it cut.
 */

export interface DiffLimits {
  /** Patch lines shown per file. @defaultValue 300 */
  maxLinesPerFile?: number;
  /** Characters of patch text for the whole environment. @defaultValue 20_000 */
  maxChars?: number;
}

export interface RenderedDiff {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: number;
  /** Unified diff (`--- a/… +++ b/…`), possibly cut; empty when nothing changed. */
  patch: string;
  /** True when some of the patch was left out. */
  truncated: boolean;
  /** Files whose patch was left out entirely (budget spent). */
  omitted: string[];
}

export function diffRenderedFiles(
  pathInRepo: string,
  current: ReadonlyMap<string, string>,
  next: readonly RenderedFile[],
  limits: DiffLimits = {},
): RenderedDiff {
  const maxLines = limits.maxLinesPerFile ?? 300;
  const maxChars = limits.maxChars ?? 20_000;
  const nextMap = new Map(next.map((f) => [f.name, f.content]));
  const names = [...new Set([...current.keys(), ...nextMap.keys()])].sort();
  const result: RenderedDiff = {
    added: [],
    changed: [],
    removed: [],
    unchanged: 0,
    patch: '',
    truncated: false,
    omitted: [],
  };
  const parts: string[] = [];
  let used = 0;

  for (const name of names) {
    const before = current.get(name);
    const after = nextMap.get(name);
    if (before === after) {
      result.unchanged++;
      continue;
    }
    if (before === undefined) result.added.push(name);
    else if (after === undefined) result.removed.push(name);
    else result.changed.push(name);

    if (used >= maxChars) {
      result.omitted.push(name);
      result.truncated = true;
      continue;
    }
    const file = `${pathInRepo}/${name}`;
    let patch = createTwoFilesPatch(
      before === undefined ? '/dev/null' : `a/${file}`,
      after === undefined ? '/dev/null' : `b/${file}`,
      before ?? '',
      after ?? '',
      undefined,
      undefined,
      { context: 3 },
    ).replace(/^=+\n/, '');
    const lines = patch.split('\n');
    if (lines.length > maxLines) {
      patch = `${lines.slice(0, maxLines).join('\n')}\n… ${lines.length - maxLines} more lines of ${name} not shown\n`;
      result.truncated = true;
    }
    if (used + patch.length > maxChars) {
      const room = Math.max(0, maxChars - used);
      const cutAt = patch.lastIndexOf('\n', room);
      const shown = cutAt > 0 ? patch.slice(0, cutAt + 1) : '';
      patch = `${shown}… the rest of ${name} is not shown (diff budget of ${maxChars} characters spent)\n`;
      result.truncated = true;
    }
    used += patch.length;
    parts.push(patch);
  }
  if (result.omitted.length > 0) {
    parts.push(`… ${result.omitted.length} more changed file(s) not shown: ${result.omitted.join(', ')}\n`);
  }
  result.patch = parts.join('');
  return result;
}
