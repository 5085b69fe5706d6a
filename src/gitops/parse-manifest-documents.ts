import { LineCounter, parseAllDocuments, isMap, type Document } from 'yaml';
import { GitopsSourceTooLarge } from '../errors.js';
import type { ManifestDocument, ManifestIssue } from './types.js';

/**
 * Parses a multi-document YAML stream of Kubernetes objects with hard limits: a size cap
 * before parsing, an alias budget (the "billion laughs" defence) and a document count cap.
 * Problems come back as issues so a bad file reports every error, not only the first.
 */

export interface ParseLimits {
  /** @defaultValue 4 MiB */
  maxBytes?: number;
  /** Aliases resolved per document. @defaultValue 100 */
  maxAliasCount?: number;
  /** @defaultValue 1000 */
  maxDocuments?: number;
}

export interface ParsedManifests {
  documents: ManifestDocument[];
  issues: ManifestIssue[];
}

export const DEFAULT_PARSE_LIMITS: Required<ParseLimits> = Object.freeze({
  maxBytes: 4 * 1024 * 1024,
  maxAliasCount: 100,
  maxDocuments: 1000,
});

export function parseManifestDocuments(
  text: string,
  sourceFile: string,
  limits: ParseLimits = {},
): ParsedManifests {
  const max = { ...DEFAULT_PARSE_LIMITS, ...limits };
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > max.maxBytes) {
    throw GitopsSourceTooLarge(`${sourceFile} (${bytes} bytes)`, `${max.maxBytes} bytes`);
  }
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const list: Document.Parsed[] = Array.isArray(docs) ? docs : [];
  const documents: ManifestDocument[] = [];
  const issues: ManifestIssue[] = [];
  if (list.length > max.maxDocuments) {
    throw GitopsSourceTooLarge(`${sourceFile} (${list.length} documents)`, `${max.maxDocuments} documents`);
  }
  list.forEach((doc, documentIndex) => {
    const start = doc.range?.[0] ?? 0;
    const docLine = lineCounter.linePos(start).line;
    const issue = (message: string, pos?: { line: number; col: number }): ManifestIssue => ({
      severity: 'error',
      file: sourceFile,
      sourceFile,
      documentIndex,
      field: '',
      message,
      line: pos?.line ?? docLine,
      column: pos?.col ?? 1,
    });
    if (doc.errors.length > 0) {
      for (const e of doc.errors) issues.push(issue(`YAML: ${e.message.split('\n')[0]}`, e.linePos?.[0]));
      return;
    }
    // `---` followed by nothing (or only comments) is legal and common; skip it.
    if (doc.contents === null) return;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: max.maxAliasCount });
    } catch (err) {
      issues.push(issue(`YAML: ${(err as Error).message} (alias limit ${max.maxAliasCount})`));
      return;
    }
    if (value === null || value === undefined) return;
    if (!isMap(doc.contents) || typeof value !== 'object' || Array.isArray(value)) {
      issues.push(issue('a Kubernetes manifest must be a mapping (an object)'));
      return;
    }
    documents.push({
      object: value as Record<string, unknown>,
      sourceFile,
      documentIndex,
      sourceLine: docLine,
      locate: (fieldPath) => {
        const node = doc.getIn(fieldPath, true) as { range?: [number, number, number] } | undefined;
        const offset = node?.range?.[0];
        if (offset === undefined) return undefined;
        const pos = lineCounter.linePos(offset);
        return { line: pos.line, column: pos.col };
      },
    });
  });
  return { documents, issues };
}
