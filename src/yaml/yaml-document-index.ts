import {
  type Alias,
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type LineCounter,
  type Node as YamlNode,
  type Pair,
  type YAMLMap,
} from 'yaml';
import { parseYamlPath } from './yaml-path.js';

/**
 * Everything Shipgate needs to know about a parsed YAML document, found in **one** walk of its
 * nodes: which node each alias names, which map keys are repeated or unsafe, and how deep it
 * nests. Locating a path afterwards costs one hash lookup per path segment, so reporting every
 * problem of a document is linear in its size.
 *
 * Before this index, each issue was located by walking the whole document again (to find the
 * anchors) and scanning every map it passed through: 9,900 unknown keys cost 26 s of CPU.
 */

/** Keys that name JavaScript object machinery. A config file has no use for them, and code
 * that copies a config into an object could be led into prototype pollution by them. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export type KeyIssueCode = 'duplicate_key' | 'forbidden_key';

export interface KeyIssue {
  code: KeyIssueCode;
  message: string;
  /** Offset of the key in the source. */
  offset: number;
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

export interface IndexOptions {
  /** Refuse `__proto__`, `constructor` and `prototype` keys. */
  refusePrototypeKeys: boolean;
  /** Deepest nesting of collections in the source. */
  maxDepth: number;
  /** Stop collecting key issues after this many (the count goes on). */
  maxIssues: number;
}

export interface TooDeep {
  offset: number | undefined;
}

export class YamlDocumentIndex {
  /** Each alias node, mapped to the node it names (undefined when the anchor is not defined before it). */
  readonly aliasTargets = new Map<Alias, YamlNode | undefined>();
  readonly keyIssues: KeyIssue[] = [];
  /** Key issues found beyond `maxIssues`. */
  omittedKeyIssues = 0;
  /** Set when the source nests deeper than `maxDepth`: the walk stopped there. */
  tooDeep: TooDeep | undefined;
  /** Each map's entries by key, built the first time a path passes through the map. */
  private readonly entries = new WeakMap<YAMLMap, Map<string, Pair>>();

  constructor(
    private readonly doc: Document,
    private readonly lineCounter: LineCounter,
    options: IndexOptions,
  ) {
    this.walk(options);
  }

  /** Where a path such as `environments[1].name` (or its segments) sits in the source. */
  locate(path: string | readonly PropertyKey[], target: LocateTarget = 'auto'): YamlLocation {
    const segments: readonly PropertyKey[] = typeof path === 'string' ? parseYamlPath(path) : path;
    const docStart = this.doc.range?.[0] ?? 0;
    const resolve = (node: unknown): unknown => (isAlias(node) ? this.aliasTargets.get(node) : node);
    const startOf = (n: unknown): number | undefined => (n as YamlNode | null)?.range?.[0];

    let raw: unknown = this.doc.contents;
    let node: unknown = resolve(raw);
    let key: YamlNode | undefined;
    // Where to point when a segment is missing: the key that introduced the current node, else the node.
    const here = (): number => startOf(key) ?? startOf(raw) ?? docStart;

    for (const segment of segments) {
      if (isMap(node)) {
        const pair = this.entriesOf(node).get(String(segment));
        if (!pair) return this.position(here(), false);
        key = pair.key as YamlNode;
        raw = pair.value;
        node = resolve(raw);
      } else if (isSeq(node) && typeof segment === 'number' && segment < node.items.length) {
        key = undefined;
        raw = node.items[segment];
        node = resolve(raw);
      } else {
        return this.position(here(), false);
      }
    }

    if (target === 'key' && key) return this.position(startOf(key)!, true);
    const range = (raw as YamlNode | null)?.range;
    const isNonEmptyScalar = isScalar(raw) && range !== undefined && range !== null && range[1] > range[0];
    if (isNonEmptyScalar || !key) return this.position(startOf(raw) ?? startOf(key) ?? docStart, true);
    return this.position(startOf(key)!, true);
  }

  position(offset: number, found = true): YamlLocation {
    const pos = this.lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col, found };
  }

  private entriesOf(map: YAMLMap): Map<string, Pair> {
    let entries = this.entries.get(map);
    if (!entries) {
      entries = new Map();
      for (const pair of map.items) {
        if (isPair(pair) && isScalar(pair.key)) {
          const name = String(pair.key.value);
          if (!entries.has(name)) entries.set(name, pair as Pair);
        }
      }
      this.entries.set(map, entries);
    }
    return entries;
  }

  /**
   * Visits every node once, in source order (a pair's key before its value), with an explicit
   * stack: a hostile document cannot overflow the call stack, and an alias names the last anchor
   * defined before it, as YAML says.
   */
  private walk(options: IndexOptions): void {
    const anchors = new Map<string, YamlNode>();
    const stack: Array<{ node: unknown; depth: number }> = [{ node: this.doc.contents, depth: 0 }];
    while (stack.length > 0) {
      const { node, depth } = stack.pop()!;
      if (node === null || node === undefined) continue;
      if (isAlias(node)) {
        this.aliasTargets.set(node, anchors.get(node.source));
        continue;
      }
      const yamlNode = node as YamlNode;
      if (depth > options.maxDepth) {
        this.tooDeep = { offset: yamlNode.range?.[0] };
        return;
      }
      if (yamlNode.anchor) anchors.set(yamlNode.anchor, yamlNode);
      if (!isMap(node) && !isSeq(node)) continue;
      const children: unknown[] = [];
      if (isMap(node)) {
        this.checkKeys(node, options);
        for (const pair of node.items) children.push(pair.key, pair.value);
      } else {
        for (const item of node.items) {
          // A flow sequence may hold single-pair maps (`[a: 1]`): those come as pairs.
          if (isPair(item)) children.push(item.key, item.value);
          else children.push(item);
        }
      }
      for (let i = children.length - 1; i >= 0; i -= 1) stack.push({ node: children[i], depth: depth + 1 });
    }
  }

  /**
   * Duplicate keys, compared as the JavaScript object will see them (`1` and `"1"` collide
   * there), with a hash set: the `yaml` package's own `uniqueKeys` check compares each key with
   * every earlier one, which is quadratic in the size of a map.
   */
  private checkKeys(map: YAMLMap, options: IndexOptions): void {
    const seen = new Map<string, number>();
    for (const pair of map.items) {
      if (!isScalar(pair.key)) continue;
      const name = String(pair.key.value);
      const offset = pair.key.range?.[0] ?? 0;
      if (options.refusePrototypeKeys && FORBIDDEN_KEYS.has(name)) {
        this.report(
          {
            code: 'forbidden_key',
            message: `the key "${name}" is not allowed: it names JavaScript object internals`,
            offset,
          },
          options,
        );
      }
      const first = seen.get(name);
      if (first === undefined) {
        seen.set(name, offset);
      } else {
        this.report(
          {
            code: 'duplicate_key',
            message: `map keys must be unique: "${truncate(name)}" is already defined at line ${this.position(first).line}`,
            offset,
          },
          options,
        );
      }
    }
  }

  private report(issue: KeyIssue, options: IndexOptions): void {
    if (this.keyIssues.length < options.maxIssues) this.keyIssues.push(issue);
    else this.omittedKeyIssues += 1;
  }
}

function truncate(text: string, max = 60): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
