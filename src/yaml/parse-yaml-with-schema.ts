import type { z } from 'zod';
import {
  parseYamlSafely,
  type SafeYamlDocument,
  type SafeYamlOptions,
  tooManyIssues,
  type YamlIssueCode,
} from './parse-yaml-safely.js';
import { formatYamlPath } from './yaml-path.js';

/**
 * One problem in a configuration file, placed where a GitHub check-run annotation can show it.
 * `line` and `column` are 1-based; `yamlPath` is `''` for the document root.
 */
export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  yamlPath: string;
  message: string;
  /** What would have been accepted, in words ("one of: fs, image", "a list"). Empty when not useful. */
  expected: string;
}

export type SchemaParseResult<T> = { ok: true; value: T } | { ok: false; errors: ConfigIssue[] };

type Issue = z.core.$ZodIssue;

const EXPECTED_BY_YAML_ISSUE: Partial<Record<YamlIssueCode, string>> = {
  syntax: 'valid YAML',
  duplicate_key: 'unique keys',
  forbidden_key: 'a key other than __proto__, constructor or prototype',
};

/**
 * Parses one YAML document with the safety limits of `parseYamlSafely`, then validates it with a
 * zod schema and turns every problem into a `ConfigIssue` located in the source.
 */
export function parseYamlWithSchema<S extends z.ZodType>(
  text: string,
  file: string,
  schema: S,
  options: SafeYamlOptions = {},
): SchemaParseResult<z.output<S>> {
  const parsed = parseYamlSafely(text, { ...options, singleDocument: true });
  if (!parsed.ok) {
    return {
      ok: false,
      errors: parsed.errors.map((e) => ({
        file,
        line: e.line,
        column: e.column,
        yamlPath: '',
        message: e.message,
        expected: EXPECTED_BY_YAML_ISSUE[e.code] ?? '',
      })),
    };
  }
  const document = parsed.documents[0]!;
  const result = schema.safeParse(document.value, { reportInput: true });
  if (result.success) return { ok: true, value: result.data };
  // Only the first `maxIssues` are located and worded: each costs a lookup and, for unknown keys,
  // an edit distance against every allowed key. The rest are counted.
  const budget: Budget = { remaining: options.maxIssues ?? DEFAULT_MAX_ISSUES, omitted: 0 };
  const errors: ConfigIssue[] = [];
  for (const issue of result.error.issues) {
    if (budget.remaining <= 0) {
      budget.omitted += countIssues(issue);
      continue;
    }
    errors.push(...toConfigIssues(issue, [], file, document, schema, budget));
  }
  const sorted = sortAndDedupe(errors);
  if (budget.omitted > 0) {
    const closing = tooManyIssues(budget.omitted);
    sorted.push({
      file,
      line: closing.line,
      column: closing.column,
      yamlPath: '',
      message: closing.message,
      expected: '',
    });
  }
  return { ok: false, errors: sorted };
}

const DEFAULT_MAX_ISSUES = 50;

interface Budget {
  remaining: number;
  omitted: number;
}

/** How many `ConfigIssue`s a zod issue would become, without locating any of them. */
function countIssues(issue: Issue): number {
  if (issue.code === 'unrecognized_keys') return issue.keys.length;
  return 1;
}

function toConfigIssues(
  issue: Issue,
  prefix: readonly PropertyKey[],
  file: string,
  document: SafeYamlDocument,
  schema: z.ZodType,
  budget: Budget,
): ConfigIssue[] {
  const path = [...prefix, ...issue.path];
  const make = (
    at: readonly PropertyKey[],
    message: string,
    expected: string,
    onKey = false,
  ): ConfigIssue => {
    budget.remaining -= 1;
    const location = document.locate(at, onKey ? 'key' : 'auto');
    return {
      file,
      line: location.line,
      column: location.column,
      yamlPath: formatYamlPath(at),
      message,
      expected,
    };
  };
  const name = describePath(path);

  switch (issue.code) {
    case 'invalid_type': {
      const expected = describeType(issue.expected);
      if (issue.input === undefined) return [make(path, `${name} is required`, expected)];
      return [make(path, `${name} must be ${expected}, not ${describeValue(issue.input)}`, expected)];
    }
    case 'invalid_value': {
      const values = issue.values.map((v) => JSON.stringify(v));
      const expected = values.length === 1 ? values[0]! : `one of: ${values.join(', ')}`;
      const got = issue.input === undefined ? 'nothing' : JSON.stringify(issue.input);
      return [make(path, `${name} must be ${expected}, not ${got}`, expected)];
    }
    case 'unrecognized_keys': {
      const allowed = objectKeysAt(schema, path) ?? [];
      const shown = Math.max(0, Math.min(issue.keys.length, budget.remaining));
      budget.omitted += issue.keys.length - shown;
      return issue.keys.slice(0, shown).map((key) => {
        const suggestion = closest(key, allowed);
        const hint = suggestion ? ` (did you mean "${suggestion}"?)` : '';
        const where = path.length === 0 ? 'at the top level' : `in ${formatYamlPath(path)}`;
        return make(
          [...path, key],
          `unknown key "${key}" ${where}${hint}`,
          allowed.length > 0 ? `one of the keys: ${allowed.join(', ')}` : 'no other keys',
          true,
        );
      });
    }
    case 'invalid_key': {
      const reasons = issue.issues.map((i) => i.message).join('; ');
      return [
        make(path, `${name} is not an allowed key: ${reasons}`, expectedFromNested(issue.issues), true),
      ];
    }
    case 'too_small': {
      const expected = describeBound('at least', issue.origin, issue.minimum, issue.inclusive ?? true);
      return [make(path, `${name} is too small: expected ${expected}`, expected)];
    }
    case 'too_big': {
      const expected = describeBound('at most', issue.origin, issue.maximum, issue.inclusive ?? true);
      return [make(path, `${name} is too big: expected ${expected}`, expected)];
    }
    case 'invalid_format': {
      // Schemas give their regexes a human message ("must be a DNS label: …"); that reads
      // better than the pattern, which is only the fallback.
      const human = !issue.message.startsWith('Invalid');
      const expected = human
        ? issue.message.replace(/^(must be|must|may only use) /, '')
        : issue.format === 'regex'
          ? `a value matching ${issue.pattern ?? 'the pattern'}`
          : issue.format;
      return [make(path, withSubject(name, issue.message), expected)];
    }
    case 'invalid_union': {
      // A union fails every branch. Branches that failed only because the value had another
      // type at the union's own path are noise; when one branch is left, its issues are the
      // useful ones (`- name: staging\n  fo: 1` should say "unknown key fo", not "no match").
      const relevant = issue.errors.filter(
        (branch) => !branch.every((i) => i.code === 'invalid_type' && i.path.length === 0),
      );
      if (relevant.length === 1) {
        return relevant[0]!.flatMap((i) =>
          budget.remaining > 0
            ? toConfigIssues(i, path, file, document, schema, budget)
            : ((budget.omitted += countIssues(i)), []),
        );
      }
      const expected = issue.errors
        .map((branch) => branch.find((i) => i.code === 'invalid_type' && i.path.length === 0))
        .map((i) => (i && i.code === 'invalid_type' ? describeType(i.expected) : 'another form'))
        .join(' or ');
      if (issue.input === undefined) return [make(path, `${name} is required`, expected)];
      return [make(path, `${name} must be ${expected}`, expected)];
    }
    case 'custom': {
      const params = (issue.params ?? {}) as { expected?: unknown; onKey?: unknown };
      return [
        make(
          path,
          withSubject(name, issue.message),
          typeof params.expected === 'string' ? params.expected : '',
          params.onKey === true,
        ),
      ];
    }
    default:
      return [make(path, withSubject(name, issue.message), '')];
  }
}

/** "must be X" becomes `"app" must be X`; a full sentence stays as it is. */
function withSubject(name: string, message: string): string {
  return /^(is|must|may|names) /.test(message) ? `${name} ${message}` : message;
}

function describePath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? 'the document' : `"${formatYamlPath(path)}"`;
}

function describeType(expected: string): string {
  switch (expected) {
    case 'object':
    case 'record':
      return 'a map';
    case 'array':
    case 'tuple':
      return 'a list';
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'int':
      return 'an integer';
    case 'boolean':
      return 'true or false';
    default:
      return expected;
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') return `the string ${JSON.stringify(truncate(value, 60))}`;
  if (typeof value === 'boolean') return `${value}`;
  if (typeof value === 'number') return `the number ${value}`;
  return typeof value;
}

function describeBound(word: string, origin: string, bound: number | bigint, inclusive: boolean): string {
  const n = inclusive ? bound : word === 'at least' ? Number(bound) + 1 : Number(bound) - 1;
  switch (origin) {
    case 'string':
      return `${word} ${n} character${n === 1 ? '' : 's'}`;
    case 'array':
    case 'set':
      return `${word} ${n} entr${n === 1 ? 'y' : 'ies'}`;
    default:
      return inclusive
        ? `${word === 'at least' ? '>=' : '<='} ${bound}`
        : `${word === 'at least' ? '>' : '<'} ${bound}`;
  }
}

function expectedFromNested(issues: readonly Issue[]): string {
  for (const i of issues) {
    if (i.code === 'custom' && typeof i.params?.expected === 'string') return i.params.expected as string;
    if (i.code === 'invalid_format' && !i.message.startsWith('Invalid'))
      return i.message.replace(/^must be /, '');
    if (i.code === 'invalid_format' && i.format === 'regex')
      return `a key matching ${i.pattern ?? 'the pattern'}`;
    if (i.code === 'invalid_value') return `one of: ${i.values.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return '';
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function sortAndDedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues
    .filter((i) => {
      const key = `${i.line}:${i.column}:${i.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.line - b.line || a.column - b.column);
}

// ── schema introspection, for "unknown key, did you mean …" ───────────────────

interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
  getter?: () => z.ZodType;
}

function defOf(schema: z.ZodType): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let i = 0; i < 20; i += 1) {
    const def = defOf(current);
    if (def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else if (def.type === 'lazy' && def.getter) current = def.getter();
    else break;
  }
  return current;
}

function candidates(schema: z.ZodType): z.ZodType[] {
  const inner = unwrap(schema);
  const def = defOf(inner);
  return def.type === 'union' && def.options ? def.options.flatMap(candidates) : [inner];
}

/** The keys an object schema accepts at `path`, or undefined when `path` is not an object. */
export function objectKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let current: z.ZodType[] = [schema];
  for (const segment of path) {
    const next: z.ZodType[] = [];
    for (const option of current.flatMap(candidates)) {
      const def = defOf(option);
      if (def.type === 'object' && def.shape && typeof segment === 'string' && segment in def.shape) {
        next.push(def.shape[segment]!);
      } else if (def.type === 'array' && def.element && typeof segment === 'number') {
        next.push(def.element);
      } else if (def.type === 'record' && def.valueType) {
        next.push(def.valueType);
      }
    }
    if (next.length === 0) return undefined;
    current = next;
  }
  const keys = new Set<string>();
  for (const option of current.flatMap(candidates)) {
    const def = defOf(option);
    if (def.type === 'object' && def.shape) for (const k of Object.keys(def.shape)) keys.add(k);
  }
  return keys.size > 0 ? [...keys] : undefined;
}

/** The allowed key nearest to a typo, when it is close enough to be a likely intent. */
function closest(key: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of allowed) {
    const d = candidate.toLowerCase() === key.toLowerCase() ? 0 : levenshtein(key, candidate);
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Infinity;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
