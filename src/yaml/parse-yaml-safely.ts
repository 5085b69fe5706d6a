import { Buffer } from 'node:buffer';
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node as YamlNode,
  parseAllDocuments,
  visit,
} from 'yaml';
import { parseYamlPath, type YamlPathSegment } from './yaml-path.js';

/**
 * Parses YAML that someone else wrote (an app repo's `.shipgate.yml`, the policy file, rendered
 * manifests). The `yaml` package is safe against code execution (no custom tags run), but not
 * against resource exhaustion: a 1 KiB "billion laughs" document expands to gigabytes when turned
 * into JavaScript. So before `toJS` we measure what the document would expand to, following
 * aliases with memoisation (linear in the source), and refuse it when it grows past the limits.
 */

export interface SafeYamlOptions {
  /** Largest accepted source, in UTF-8 bytes. @defaultValue 1 MiB */
  maxBytes?: number;
  /** Most alias nodes (`*name`) a document may contain. @defaultValue 100 */
  maxAliasCount?: number;
  /** Most nodes the document may have once every alias is expanded. @defaultValue 100_000 */
  maxResolvedNodes?: number;
  /** Most scalar characters the document may have once every alias is expanded. @defaultValue 16 MiB */
  maxResolvedScalarChars?: number;
  /** Deepest nesting of collections. @defaultValue 100 */
  maxDepth?: number;
  /** Refuse a stream with more than one document (`---`). @defaultValue false */
  singleDocument?: boolean;
  /**
   * Treat warnings (for example an unresolved `!tag`) as errors. Config files want this: a tag
   * that silently turns into a string hides a mistake. @defaultValue true
   */
  warningsAsErrors?: boolean;
}

export type YamlIssueCode =
  | 'too_large'
  | 'syntax'
  | 'multiple_documents'
  | 'alias_limit'
  | 'expansion_limit'
  | 'recursive_alias'
  | 'too_deep';

export interface YamlIssue {
  code: YamlIssueCode;
  message: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** 0-based index of the document in the stream. */
  documentIndex: number;
}

export interface YamlLocation {
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** False when the path does not exist: the location is then its nearest existing ancestor. */
  found: boolean;
}

/**
 * `auto` points at a scalar value itself, and at the key of a map entry whose value is a
 * collection or empty (a block collection starts on the next line, so its key is where a reader
 * looks). `key` always points at the key, for "unknown key" and "bad key" messages.
 */
export type LocateTarget = 'auto' | 'key';

export interface SafeYamlDocument {
  index: number;
  /** The plain JavaScript value (maps become objects with string keys). */
  value: unknown;
  /** Where a path such as `environments[1].name` (or its segments) sits in the source. */
  locate(path: string | readonly PropertyKey[], target?: LocateTarget): YamlLocation;
}

export type SafeYamlResult = { ok: true; documents: SafeYamlDocument[] } | { ok: false; errors: YamlIssue[] };

const DEFAULTS: Required<SafeYamlOptions> = {
  maxBytes: 1024 * 1024,
  maxAliasCount: 100,
  maxResolvedNodes: 100_000,
  maxResolvedScalarChars: 16 * 1024 * 1024,
  maxDepth: 100,
  singleDocument: false,
  warningsAsErrors: true,
};

export function parseYamlSafely(text: string, options: SafeYamlOptions = {}): SafeYamlResult {
  const limits = { ...DEFAULTS, ...options };
  // `text.length` counts UTF-16 units, never more than the UTF-8 bytes: a cheap first refusal
  // before the exact count.
  if (text.length > limits.maxBytes || Buffer.byteLength(text, 'utf8') > limits.maxBytes) {
    return fail(
      'too_large',
      `the file is larger than ${formatBytes(limits.maxBytes)} (${formatBytes(Buffer.byteLength(text, 'utf8'))})`,
    );
  }

  const lineCounter = new LineCounter();
  let documents: Document.Parsed[];
  try {
    documents = parseAllDocuments(text, {
      lineCounter,
      prettyErrors: false,
      uniqueKeys: true,
    }) as Document.Parsed[];
  } catch (err) {
    // The parser is not expected to throw, but a stack overflow on pathological nesting would.
    return fail('syntax', `the YAML parser failed: ${(err as Error).message}`);
  }

  const at = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };

  if (limits.singleDocument && documents.length > 1) {
    const second = documents[1]!;
    return {
      ok: false,
      errors: [
        {
          code: 'multiple_documents',
          message: 'expected a single YAML document, found more than one (remove the extra `---`)',
          ...at(second.range[0]),
          documentIndex: 1,
        },
      ],
    };
  }

  const errors: YamlIssue[] = [];
  documents.forEach((doc, documentIndex) => {
    const problems = limits.warningsAsErrors ? [...doc.errors, ...doc.warnings] : doc.errors;
    for (const problem of problems) {
      errors.push({ code: 'syntax', message: problem.message, ...at(problem.pos[0]), documentIndex });
    }
  });
  if (errors.length > 0) return { ok: false, errors: sortIssues(errors) };

  const parsed: SafeYamlDocument[] = [];
  for (const [documentIndex, doc] of documents.entries()) {
    const refusal = measureExpansion(doc, limits);
    if (refusal) {
      // Reported at line 1: the whole document is refused, and the annotation must be stable
      // whatever the attacker put where. The message says which alias tripped the limit.
      const where = refusal.offset === undefined ? '' : ` (at line ${at(refusal.offset).line})`;
      return {
        ok: false,
        errors: [{ code: refusal.code, message: refusal.message + where, line: 1, column: 1, documentIndex }],
      };
    }
    let value: unknown;
    try {
      // Aliases were bounded above, so the library's own alias heuristic is not needed (it can
      // refuse legitimate documents that reuse an anchor holding aliases).
      value = doc.toJS({ maxAliasCount: -1 });
    } catch (err) {
      return fail('syntax', `the YAML could not be converted: ${(err as Error).message}`, documentIndex);
    }
    parsed.push({
      index: documentIndex,
      value,
      locate: (path, target = 'auto') => locateYamlPath(doc, lineCounter, path, target),
    });
  }

  if (limits.singleDocument && parsed.length === 0) {
    // An empty file is one empty document: the caller's schema decides whether that is allowed.
    parsed.push({ index: 0, value: null, locate: () => ({ line: 1, column: 1, found: false }) });
  }
  return { ok: true, documents: parsed };
}

/** Finds where a path sits in a parsed document. Aliases are followed to their anchors. */
export function locateYamlPath(
  doc: Document,
  lineCounter: LineCounter,
  path: string | readonly PropertyKey[],
  target: LocateTarget = 'auto',
): YamlLocation {
  const segments: readonly PropertyKey[] = typeof path === 'string' ? parseYamlPath(path) : path;
  const position = (offset: number, found: boolean): YamlLocation => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col, found };
  };
  const docStart = doc.range?.[0] ?? 0;
  const anchors = anchorTargets(doc);
  const resolve = (node: unknown): unknown => (isAlias(node) ? anchors.get(node) : node);

  let raw: unknown = doc.contents;
  let node: unknown = resolve(raw);
  let key: YamlNode | undefined;
  const startOf = (n: unknown): number | undefined => (n as YamlNode | null)?.range?.[0];
  // Where to point when a segment is missing: the key that introduced the current node, else the node.
  const here = (): number => startOf(key) ?? startOf(raw) ?? docStart;

  for (const segment of segments) {
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment),
      );
      if (!pair) return position(here(), false);
      key = pair.key as YamlNode;
      raw = pair.value;
      node = resolve(raw);
    } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
      key = undefined;
      raw = node.items[segment];
      node = resolve(raw);
    } else {
      return position(here(), false);
    }
  }

  if (target === 'key' && key) return position(startOf(key)!, true);
  const range = (raw as YamlNode | null)?.range;
  const isNonEmptyScalar = isScalar(raw) && range !== undefined && range !== null && range[1] > range[0];
  if (isNonEmptyScalar || !key) return position(startOf(raw) ?? startOf(key) ?? docStart, true);
  return position(startOf(key)!, true);
}

interface Refusal {
  code: YamlIssueCode;
  message: string;
  offset?: number;
}

/** Maps each alias to the node it names: the last node with that anchor before it in the document. */
function anchorTargets(doc: Document): Map<unknown, unknown> {
  const current = new Map<string, unknown>();
  const targets = new Map<unknown, unknown>();
  visit(doc, {
    Node(_key, node) {
      if (isAlias(node)) targets.set(node, current.get(node.source));
      else if (node.anchor) current.set(node.anchor, node);
    },
  });
  return targets;
}

function measureExpansion(doc: Document, limits: Required<SafeYamlOptions>): Refusal | undefined {
  const targets = anchorTargets(doc);
  if (targets.size > limits.maxAliasCount) {
    return {
      code: 'alias_limit',
      message: `the document uses ${targets.size} aliases, more than the ${limits.maxAliasCount} allowed`,
    };
  }
  interface Size {
    nodes: number;
    chars: number;
  }
  const memo = new Map<unknown, Size>();
  const inProgress = new Set<unknown>();
  let refusal: Refusal | undefined;

  const measure = (node: unknown, depth: number): Size => {
    if (refusal) return { nodes: 0, chars: 0 };
    if (depth > limits.maxDepth) {
      refusal = {
        code: 'too_deep',
        message: `the document nests deeper than ${limits.maxDepth} levels`,
        offset: (node as YamlNode | null)?.range?.[0],
      };
      return { nodes: 0, chars: 0 };
    }
    if (isAlias(node)) {
      const target = targets.get(node);
      if (target === undefined) return { nodes: 1, chars: 0 };
      if (inProgress.has(target)) {
        refusal = {
          code: 'recursive_alias',
          message: `the alias *${node.source} refers to a node that contains it`,
          offset: node.range?.[0],
        };
        return { nodes: 0, chars: 0 };
      }
      const size = measure(target, depth);
      return { nodes: size.nodes + 1, chars: size.chars };
    }
    const known = memo.get(node);
    if (known) return known;
    let size: Size = { nodes: 1, chars: 0 };
    if (isScalar(node)) {
      size = { nodes: 1, chars: String(node.value ?? '').length };
    } else if (isMap(node) || isSeq(node)) {
      inProgress.add(node);
      for (const item of node.items as unknown[]) {
        const parts = isPair(item) ? [item.key, item.value] : [item];
        for (const part of parts) {
          if (part === null || part === undefined) continue;
          const child = measure(part, depth + 1);
          size = { nodes: size.nodes + child.nodes, chars: size.chars + child.chars };
        }
      }
      inProgress.delete(node);
    }
    memo.set(node, size);
    if (!refusal && (size.nodes > limits.maxResolvedNodes || size.chars > limits.maxResolvedScalarChars)) {
      refusal = {
        code: 'expansion_limit',
        message:
          `the document expands to more than ${limits.maxResolvedNodes} nodes or ` +
          `${limits.maxResolvedScalarChars} characters once aliases are resolved (a "billion laughs" document?)`,
        offset: (node as YamlNode | null)?.range?.[0],
      };
    }
    return size;
  };

  measure(doc.contents, 0);
  return refusal;
}

function fail(code: YamlIssueCode, message: string, documentIndex = 0): SafeYamlResult {
  return { ok: false, errors: [{ code, message, line: 1, column: 1, documentIndex }] };
}

function sortIssues(issues: YamlIssue[]): YamlIssue[] {
  return issues.sort((a, b) => a.documentIndex - b.documentIndex || a.line - b.line || a.column - b.column);
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}

export type { YamlPathSegment };
