import { XMLParser } from 'fast-xml-parser';
import { ReportInvalid } from '../../errors.js';

export interface JunitFailure {
  suite: string | undefined;
  name: string;
  classname: string | undefined;
  kind: 'failure' | 'error';
  message: string;
  /** Failure body (stack trace), bounded. */
  details: string;
  file: string | undefined;
  line: number | undefined;
}

export interface JunitSummary {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  /** At most `maxFailures`. */
  failed: JunitFailure[];
}

type Node = Record<string, unknown>;

const asArray = (value: unknown): Node[] =>
  value === undefined || value === null
    ? []
    : (Array.isArray(value) ? value : [value]).filter((v): v is Node => typeof v === 'object' && v !== null);

/** `<failure>text</failure>` and `<failure/>` parse to strings; attributes make an object. */
const problemNodes = (value: unknown): Node[] =>
  value === undefined || value === null
    ? []
    : (Array.isArray(value) ? value : [value]).map((v) =>
        typeof v === 'object' && v !== null ? (v as Node) : { '#text': typeof v === 'string' ? v : '' },
      );

const str = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;

function textOf(node: unknown): string {
  if (typeof node === 'string' || typeof node === 'number') return String(node);
  if (node && typeof node === 'object') return str((node as Node)['#text']) ?? '';
  return '';
}

/** A classname that is really a file path (vitest, some jest setups). */
function pathLike(value: string | undefined): string | undefined {
  return value && /[/\\]/.test(value) && /\.[a-z0-9]{1,5}$/i.test(value) ? value : undefined;
}

/** Finds `file:line` for the failing file in a stack trace. */
function lineFromStack(stack: string, file: string | undefined): number | undefined {
  if (!file) return undefined;
  const base = file.replace(/^\.\//, '');
  const escaped = base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`${escaped}[:(](\\d+)`).exec(stack);
  return match ? Number(match[1]) : undefined;
}

/**
 * Parses JUnit XML (Ant/Surefire, pytest, jest-junit, vitest, go-junit-report): `testsuites`
 * or a lone `testsuite`, nested suites, `file`/`line` attributes where the tool writes them.
 * Entity expansion stays within fast-xml-parser's limits (no billion laughs).
 */
export function parseJunit(xml: string, maxFailures = 200): JunitSummary {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    isArray: (name) => ['testsuite', 'testcase', 'failure', 'error'].includes(name),
  });
  let doc: Node;
  try {
    doc = parser.parse(xml, true) as Node;
  } catch (err) {
    throw ReportInvalid('JUnit', (err as Error).message.split('\n')[0]!.slice(0, 200));
  }
  const roots = [...asArray(doc.testsuites), ...asArray(doc.testsuite).map((s) => ({ testsuite: [s] }))];
  if (roots.length === 0) throw ReportInvalid('JUnit', 'no <testsuites> or <testsuite> element');

  const summary: JunitSummary = { tests: 0, failures: 0, errors: 0, skipped: 0, failed: [] };
  const visit = (suite: Node): void => {
    const suiteName = str(suite.name);
    const suiteFile = str(suite.file) ?? str(suite.filepath);
    for (const tc of asArray(suite.testcase)) {
      summary.tests += 1;
      if ('skipped' in tc) summary.skipped += 1;
      const problems = [
        ...problemNodes(tc.failure).map((n) => ['failure', n] as const),
        ...problemNodes(tc.error).map((n) => ['error', n] as const),
      ];
      if (problems.length === 0) continue;
      const [kind, node] = problems[0]!;
      if (kind === 'failure') summary.failures += 1;
      else summary.errors += 1;
      if (summary.failed.length >= maxFailures) continue;
      const details = textOf(node).slice(0, 4000);
      const file = str(tc.file) ?? suiteFile ?? pathLike(str(tc.classname));
      const line = Number(str(tc.line));
      summary.failed.push({
        suite: suiteName,
        name: str(tc.name) ?? '(unnamed)',
        classname: str(tc.classname),
        kind,
        message: (str(node.message) ?? str(node.type)) || details.split('\n')[0] || kind,
        details,
        file,
        line: Number.isInteger(line) && line > 0 ? line : lineFromStack(details, file),
      });
    }
    for (const child of asArray(suite.testsuite)) visit(child);
  };
  for (const root of roots) for (const suite of asArray(root.testsuite)) visit(suite);
  return summary;
}
