import { Buffer } from 'node:buffer';
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  Composer,
  Lexer,
  LineCounter,
  type Node as YamlNode,
  Parser,
} from 'yaml';
import { type LocateTarget, YamlDocumentIndex, type YamlLocation } from './yaml-document-index.js';
import type { YamlPathSegment } from './yaml-path.js';

/**
 * Parses YAML that someone else wrote (an app repo's `.shipgate.yml`, the policy file, rendered
 * manifests). The `yaml` package is safe against code execution (no custom tags run), but not
 * against resource exhaustion: a 1 KiB "billion laughs" document expands to gigabytes when turned
 * into JavaScript. So before `toJS` we measure what the document would expand to, following
 * aliases with memoisation (linear in the source), and refuse it when it grows past the limits.
 *
 * Every step is linear in the source, so a hostile file costs no more CPU than an honest file of
 * its size: duplicate keys are found with a hash set (the library's own check is quadratic), the
 * issues reported are capped, and each one is located through an index built in one walk.
 */

export interface SafeYamlOptions {
  /** Largest accepted source, in UTF-8 bytes. @defaultValue 1 MiB */
  maxBytes?: number;
  /**
   * Most tokens (scalars, aliases, comments, line breaks, and the indicators `-`, `?`, `:`, `,`,
   * `[`, `{`) in the source, counted by the lexer before anything is parsed. Parsing costs
   * microseconds per token, so this bounds the CPU a file can cost, whatever it holds.
   * @defaultValue 200_000
   */
  maxTokens?: number;
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
  /**
   * Most issues listed; one closing issue counts the rest. A file with ten thousand mistakes
   * needs the first few fixed, not ten thousand annotations. @defaultValue 50
   */
  maxIssues?: number;
  /**
   * Refuse the map keys `__proto__`, `constructor` and `prototype`, with their line and column.
   * Configuration never needs them, and dropping them silently hides an attack. @defaultValue true
   */
  refusePrototypeKeys?: boolean;
}

export type YamlIssueCode =
  | 'too_large'
  | 'too_many_tokens'
  | 'syntax'
  | 'multiple_documents'
  | 'alias_limit'
  | 'expansion_limit'
  | 'recursive_alias'
  | 'too_deep'
  | 'duplicate_key'
  | 'forbidden_key'
  | 'too_many_issues';

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
  maxTokens: 200_000,
  maxAliasCount: 100,
  maxResolvedNodes: 100_000,
  maxResolvedScalarChars: 16 * 1024 * 1024,
  maxDepth: 100,
  singleDocument: false,
  warningsAsErrors: true,
  maxIssues: 50,
  refusePrototypeKeys: true,
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

  const lexed = lexWithinLimits(text, limits);
  if (lexed === 'too_many_tokens') {
    return fail(
      'too_many_tokens',
      `the file has more than ${limits.maxTokens} YAML values, indicators, comments and lines: split it, or remove what is not needed`,
    );
  }
  if (lexed === 'too_deep') {
    // The parser recurses once per level: refuse `[[[[…` before it overflows the stack.
    return fail('too_deep', `the document nests deeper than ${limits.maxDepth} levels`);
  }

  const lineCounter = new LineCounter();
  let documents: Document.Parsed[];
  try {
    documents = composeDocuments(lexed, lineCounter);
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

  const issues = new IssueList(limits.maxIssues);
  documents.forEach((doc, documentIndex) => {
    const problems = limits.warningsAsErrors ? [...doc.errors, ...doc.warnings] : doc.errors;
    for (const problem of problems) {
      issues.add({ code: 'syntax', message: problem.message, ...at(problem.pos[0]), documentIndex });
    }
  });
  if (issues.count > 0) return { ok: false, errors: issues.sorted() };

  const indexes = documents.map(
    (doc) =>
      new YamlDocumentIndex(doc, lineCounter, {
        refusePrototypeKeys: limits.refusePrototypeKeys,
        maxDepth: limits.maxDepth,
        maxIssues: limits.maxIssues,
      }),
  );
  for (const [documentIndex, index] of indexes.entries()) {
    if (index.tooDeep) {
      const where = index.tooDeep.offset === undefined ? '' : ` (at line ${at(index.tooDeep.offset).line})`;
      const message = `the document nests deeper than ${limits.maxDepth} levels${where}`;
      return { ok: false, errors: [{ code: 'too_deep', message, line: 1, column: 1, documentIndex }] };
    }
    for (const issue of index.keyIssues) {
      issues.add({ code: issue.code, message: issue.message, ...at(issue.offset), documentIndex });
    }
    issues.skip(index.omittedKeyIssues);
  }
  if (issues.count > 0) return { ok: false, errors: issues.sorted() };

  const parsed: SafeYamlDocument[] = [];
  for (const [documentIndex, doc] of documents.entries()) {
    const index = indexes[documentIndex]!;
    const refusal = measureExpansion(doc, index, limits);
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
      locate: (path, target = 'auto') => index.locate(path, target),
    });
  }

  if (limits.singleDocument && parsed.length === 0) {
    // An empty file is one empty document: the caller's schema decides whether that is allowed.
    parsed.push({ index: 0, value: null, locate: () => ({ line: 1, column: 1, found: false }) });
  }
  return { ok: true, documents: parsed };
}

/**
 * Lexer tokens that cost parsing work: one per scalar, alias, collection, entry, comment and
 * line. Whitespace and the parser's own markers for documents and flow ends are free.
 */
const COUNTED = new Set(['\u001f', '-', '?', ':', ',', '[', '{', '\n', '\r\n']);

/**
 * Lexes `text` once, counting the tokens that cost parsing work and the nesting of flow
 * collections, and stops as soon as either is over its limit. The lexer is a lazy generator and
 * several times cheaper than the parser, so a file stuffed with keys, comments or brackets is
 * refused after reading only as much of it as the limits allow. The tokens are kept and handed
 * to the parser, so a file within the limits is not lexed twice.
 */
function lexWithinLimits(
  text: string,
  limits: Required<SafeYamlOptions>,
): string[] | 'too_many_tokens' | 'too_deep' {
  const tokens: string[] = [];
  let count = 0;
  let flowDepth = 0;
  for (const token of new Lexer().lex(text)) {
    tokens.push(token);
    const first = token.charCodeAt(0);
    if (token === ']' || token === '}') flowDepth -= 1;
    else if ((token === '[' || token === '{') && ++flowDepth > limits.maxDepth) return 'too_deep';
    // Quoted scalars, aliases and comments come as their source text: "…", '…', *name, #….
    if (
      COUNTED.has(token) ||
      first === 0x22 ||
      first === 0x27 ||
      first === 0x23 ||
      (first === 0x2a && token.length > 1)
    ) {
      count += 1;
      if (count > limits.maxTokens) return 'too_many_tokens';
    }
  }
  return tokens;
}

/** `parseAllDocuments`, from tokens already lexed (the same steps the library takes). */
function composeDocuments(tokens: readonly string[], lineCounter: LineCounter): Document.Parsed[] {
  const parser = new Parser(lineCounter.addNewLine);
  lineCounter.addNewLine(0);
  function* cst() {
    for (const token of tokens) yield* parser.next(token);
    yield* parser.end();
  }
  // Duplicate keys are checked by the index, in linear time: the library compares every key of
  // a map with every other (10,000 keys cost seconds).
  const composer = new Composer({ prettyErrors: false, uniqueKeys: false });
  return Array.from(composer.compose(cst()));
}

/** The first `max` issues, and a count of the rest. */
class IssueList {
  private readonly kept: YamlIssue[] = [];
  private omitted = 0;

  constructor(private readonly max: number) {}

  get count(): number {
    return this.kept.length + this.omitted;
  }

  add(issue: YamlIssue): void {
    if (this.kept.length < this.max) this.kept.push(issue);
    else this.omitted += 1;
  }

  skip(count: number): void {
    this.omitted += count;
  }

  sorted(): YamlIssue[] {
    const list = sortIssues(this.kept);
    if (this.omitted > 0) list.push(tooManyIssues(this.omitted, list.at(-1)?.documentIndex ?? 0));
    return list;
  }
}

/** The closing issue that stands for the ones not listed. */
export function tooManyIssues(omitted: number, documentIndex = 0): YamlIssue {
  return {
    code: 'too_many_issues',
    message: `${omitted} more problem${omitted === 1 ? ' is' : 's are'} not listed: fix the ones above first`,
    line: 1,
    column: 1,
    documentIndex,
  };
}

interface Refusal {
  code: YamlIssueCode;
  message: string;
  offset?: number;
}

function measureExpansion(
  doc: Document,
  index: YamlDocumentIndex,
  limits: Required<SafeYamlOptions>,
): Refusal | undefined {
  const targets = index.aliasTargets;
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

export type { LocateTarget, YamlLocation, YamlPathSegment };
