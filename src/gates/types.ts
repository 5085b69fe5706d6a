import type { CheckoutSpec, ExecutionResult } from '../executors/executor.js';

export type GateName = 'tests' | 'trivy' | 'zap';
export type GateConclusion = 'success' | 'failure' | 'neutral';

/** A GitHub check-run annotation, in the REST API's shape (snake_case on purpose). */
export interface Annotation {
  /** Repository-relative path. */
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: 'notice' | 'warning' | 'failure';
  message: string;
  title?: string;
}

/** What a gate concludes; maps one-to-one onto a check run's `conclusion` and `output`. */
export interface GateResult {
  gate: GateName;
  conclusion: GateConclusion;
  /** Check-run output title (one line). */
  title: string;
  /** Check-run output summary (markdown, at most 65 535 characters). */
  summary: string;
  /** Check-run output text (markdown), for details that would crowd the summary. */
  text?: string;
  /** At most `MAX_ANNOTATIONS`; the summary says when more were left out. */
  annotations: Annotation[];
  counts?: Record<string, number>;
  /** Findings let through by the pipeline's ignore rules (Trivy `ignore`), for the audit trail. */
  overrides?: { id: string; reason: string; expires?: string | undefined; findings: number }[];
  /** Set when the run was cancelled: report the check run as `cancelled`, or not at all. */
  cancelled?: true;
  /**
   * The end of the command's output as the executor returned it (already masked), and how many
   * bytes it wrote in all; absent when no command ran. Stored with the run for the console.
   */
  log?: { tail: string; bytes: number };
}

/** What a scanner gate does when its scanner is missing, crashes, times out or writes no valid report. */
export interface ScannerFailureOptions {
  /**
   * `fail` (fail closed) or `neutral` (an explicit opt-out, e.g. while a scanner is being rolled out).
   * @defaultValue `'fail'`
   */
  onScannerMissing?: 'fail' | 'neutral' | undefined;
}

/** Where and what a gate runs on; built by the pipeline for each gate execution. */
export interface GateContext {
  runId: string;
  /** Stable per gate execution across worker retries (see `ExecutionSpec.attemptKey`). */
  attemptKey: string;
  /** The source to check out (tests, trivy fs). */
  checkout?: CheckoutSpec | undefined;
}

/** GitHub accepts 50 annotations per request; more only bury the first ones. */
export const MAX_ANNOTATIONS = 50;

/** `result` with the executor's output tail attached (see `GateResult.log`). */
export function withLog(result: GateResult, execution: ExecutionResult): GateResult {
  return { ...result, log: { tail: execution.logTail, bytes: execution.logBytes } };
}
