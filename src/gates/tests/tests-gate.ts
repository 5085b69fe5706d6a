import type { ExecutionResult, Executor } from '../../executors/executor.js';
import { ReportInvalid } from '../../errors.js';
import { cell, code, codeBlock, fitSummary, logTail } from '../markdown.js';
import { cancelledResult } from '../scanner-failure.js';
import { MAX_ANNOTATIONS, withLog, type Annotation, type GateContext, type GateResult } from '../types.js';
import { parseJunit, type JunitSummary } from './parse-junit.js';

export interface TestsGateOptions {
  /** argv of the test command (`['npm', 'test']`; a shell string becomes `['sh', '-c', s]`). */
  command: readonly string[];
  /** Image the tests run in under the Kubernetes executor (the app's build image). */
  image: string;
  /** Repository-relative path of a JUnit XML report the command writes, if any. */
  junitPath?: string | undefined;
  env?: Record<string, string> | undefined;
  /** @defaultValue 1800 */
  timeoutSeconds?: number | undefined;
  resources?: { cpu?: string; memory?: string } | undefined;
}

/**
 * Where the executors check out the source, as seen in absolute paths inside JUnit files:
 * the local temp dir (`…/shipgate-tests-XXXXXX/src/`) and the Kubernetes workspace.
 */
const CHECKOUT_PREFIXES = [/^.*\/shipgate-tests-[A-Za-z0-9]{6}\/src\//, /^\/workspace\/src\//];

function repoPath(file: string | undefined): string | undefined {
  if (!file) return undefined;
  let p = file.replace(/\\/g, '/');
  for (const prefix of CHECKOUT_PREFIXES) p = p.replace(prefix, '');
  p = p.replace(/^\.\//, '');
  if (p.startsWith('/') || p.split('/').includes('..')) return undefined;
  return p;
}

/** Judges a finished test run: pure. The exit code decides; JUnit only adds detail. */
export function evaluateTests(
  result: ExecutionResult,
  options: Pick<TestsGateOptions, 'junitPath' | 'command'>,
): GateResult {
  if (result.cancelled) return cancelledResult('tests');
  const seconds = Math.round(result.durationMs / 1000);
  let junit: JunitSummary | undefined;
  let junitNote: string | undefined;
  if (options.junitPath) {
    const xml = result.reports.junit;
    if (xml === undefined) {
      junitNote = result.reportProblems.junit ?? `No JUnit report at ${code(options.junitPath)}.`;
    } else {
      try {
        junit = parseJunit(xml);
      } catch (err) {
        if (!ReportInvalid.is(err)) throw err;
        junitNote = err.message;
      }
    }
  }

  const passed = result.exitCode === 0 && !result.timedOut;
  let title: string;
  if (result.timedOut) title = `Tests timed out after ${seconds}s`;
  else if (result.exitCode === 127)
    title = `Test command not found: ${options.command[0] ?? ''}`.slice(0, 200);
  else if (passed) title = junit ? `${junit.tests - junit.skipped} tests passed` : 'Tests passed';
  else if (junit && junit.failures + junit.errors > 0) {
    const n = junit.failures + junit.errors;
    title = `${n} of ${junit.tests} tests failed`;
  } else title = `Tests failed (exit status ${result.exitCode})`;

  const lines: string[] = [
    `${passed ? '✅' : '❌'} ${code(options.command.join(' '), 200)} ` +
      (result.timedOut
        ? `was stopped after ${seconds}s.`
        : `exited with status ${result.exitCode} after ${seconds}s.`),
  ];
  if (junit) {
    lines.push(
      '',
      `Tests: ${junit.tests} · failures: ${junit.failures} · errors: ${junit.errors} · skipped: ${junit.skipped}`,
    );
    if (junit.failed.length > 0) {
      lines.push('', '### Failures', '');
      for (const f of junit.failed.slice(0, 30)) {
        const where = f.file
          ? ` (${cell(repoPath(f.file) ?? f.file, 100)}${f.line ? `:${f.line}` : ''})`
          : '';
        lines.push(
          `- **${cell(f.classname ? `${f.classname} › ${f.name}` : f.name, 150)}**${where}: ${cell(f.message, 200)}`,
        );
      }
      if (junit.failed.length > 30) lines.push(`- …and ${junit.failures + junit.errors - 30} more`);
    }
  } else if (junitNote) {
    lines.push('', `_${junitNote}_`);
  }
  const tail = logTail(result.logTail);
  lines.push(
    '',
    `### Log (last ${tail.split('\n').length} lines${result.logBytes > Buffer.byteLength(result.logTail) ? ` of ${result.logBytes} bytes` : ''})`,
    '',
    tail.trim() === '' ? '_no output_' : codeBlock(tail),
  );

  const annotations: Annotation[] = [];
  for (const f of junit?.failed ?? []) {
    const path = repoPath(f.file);
    if (!path || annotations.length >= MAX_ANNOTATIONS) continue;
    annotations.push({
      path,
      start_line: f.line ?? 1,
      end_line: f.line ?? 1,
      annotation_level: 'failure',
      title: `${f.kind === 'error' ? 'Error' : 'Failed'}: ${f.name}`.slice(0, 255),
      message: (f.details || f.message).slice(0, 4000),
    });
  }

  const counts: Record<string, number> = junit
    ? { tests: junit.tests, failures: junit.failures, errors: junit.errors, skipped: junit.skipped }
    : {};
  return {
    gate: 'tests',
    conclusion: passed ? 'success' : 'failure',
    title,
    summary: fitSummary(lines.join('\n')),
    annotations,
    counts,
  };
}

/** Runs the repo's tests at the checked-out sha and judges them. */
export async function runTestsGate(
  executor: Executor,
  context: GateContext,
  options: TestsGateOptions,
  run: { signal?: AbortSignal | undefined } = {},
): Promise<GateResult> {
  const result = await executor.run(
    {
      runId: context.runId,
      gate: 'tests',
      attemptKey: context.attemptKey,
      image: options.image,
      command: options.command,
      env: { CI: 'true', ...options.env },
      checkout: context.checkout,
      timeoutSeconds: options.timeoutSeconds ?? 1800,
      resources: options.resources,
      reportFiles: options.junitPath ? { junit: options.junitPath } : {},
    },
    { signal: run.signal },
  );
  return withLog(evaluateTests(result, options), result);
}
