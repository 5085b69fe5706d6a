import type { Executor } from '../../executors/executor.js';
import { ReportInvalid } from '../../errors.js';
import { scannerFailureResult, scannerReport } from '../scanner-failure.js';
import { withLog, type GateContext, type GateResult, type ScannerFailureOptions } from '../types.js';
import { evaluateTrivy, type TrivyPolicy } from './evaluate-trivy.js';
import { parseTrivyReport } from './parse-trivy-report.js';

/**
 * The image the Kubernetes executor runs Trivy in. Operators should pin it by digest
 * (`aquasec/trivy:0.58.1@sha256:…`) through the gate options; a tag is only a default.
 */
export const DEFAULT_TRIVY_IMAGE = 'docker.io/aquasec/trivy:0.58.1';
const REPORT_PATH = 'shipgate-trivy.json';

export interface TrivyGateOptions extends Omit<TrivyPolicy, 'mode'>, ScannerFailureOptions {
  /** `fs` scans the checkout (pull requests); `image` scans a built image (releases). */
  mode: 'fs' | 'image';
  /** Image reference to scan; required for `image` mode. */
  imageRef?: string | undefined;
  /** Image that runs Trivy under the Kubernetes executor. @defaultValue `DEFAULT_TRIVY_IMAGE` */
  scannerImage?: string | undefined;
  /** @defaultValue fs: `['vuln', 'secret', 'misconfig']`; image: `['vuln', 'secret']` */
  scanners?: readonly ('vuln' | 'secret' | 'misconfig' | 'license')[] | undefined;
  /** Vulnerability DB cache directory (saves the DB download on every run). @defaultValue Trivy's own */
  cacheDir?: string | undefined;
  /** @defaultValue 600 */
  timeoutSeconds?: number | undefined;
  resources?: { cpu?: string; memory?: string } | undefined;
  /** Findings kept from a huge report (the rest are counted). @defaultValue 5000 */
  maxFindings?: number | undefined;
}

/** argv for the scan; pure. */
export function trivyCommand(options: TrivyGateOptions): string[] {
  const scanners =
    options.scanners ?? (options.mode === 'fs' ? ['vuln', 'secret', 'misconfig'] : ['vuln', 'secret']);
  const timeout = options.timeoutSeconds ?? 600;
  const common = [
    '--format',
    'json',
    '--output',
    REPORT_PATH,
    '--scanners',
    scanners.join(','),
    // Trivy's own analysis timeout (5m by default) must not cut in before ours.
    '--timeout',
    `${timeout}s`,
    '--quiet',
    ...(options.cacheDir ? ['--cache-dir', options.cacheDir] : []),
  ];
  if (options.mode === 'image') {
    if (!options.imageRef) throw new RangeError('trivy image mode needs imageRef');
    return ['trivy', 'image', ...common, options.imageRef];
  }
  return ['trivy', 'fs', ...common, '.'];
}

/**
 * Runs Trivy through the executor and judges the report. Fails closed: a missing scanner,
 * a non-zero exit (Trivy exits 0 with findings unless told otherwise), a timeout, or a
 * missing or invalid report give a failed check unless `onScannerMissing: 'neutral'`.
 */
export async function runTrivyGate(
  executor: Executor,
  context: GateContext,
  options: TrivyGateOptions,
  run: { signal?: AbortSignal | undefined; now?: Date | undefined } = {},
): Promise<GateResult> {
  const timeoutSeconds = options.timeoutSeconds ?? 600;
  const result = await executor.run(
    {
      runId: context.runId,
      gate: 'trivy',
      attemptKey: context.attemptKey,
      image: options.scannerImage ?? DEFAULT_TRIVY_IMAGE,
      command: trivyCommand(options),
      env: {},
      checkout: options.mode === 'fs' ? context.checkout : undefined,
      // Trivy gets a grace period over its own --timeout to write what it has.
      timeoutSeconds: timeoutSeconds + 30,
      resources: options.resources,
      reportFiles: { trivy: REPORT_PATH },
    },
    { signal: run.signal },
  );
  const read = scannerReport(
    result,
    {
      gate: 'trivy',
      scanner: 'Trivy',
      command: 'trivy',
      report: { name: 'trivy', file: REPORT_PATH },
      process: 'Trivy',
      okExitCodes: [0],
      timeoutSeconds,
    },
    options,
  );
  if ('done' in read) return withLog(read.done, result);
  const text = read.text;
  try {
    const report = parseTrivyReport(text, { maxFindings: options.maxFindings });
    return withLog(evaluateTrivy(report, { ...options, mode: options.mode }, run.now ?? new Date()), result);
  } catch (err) {
    if (!ReportInvalid.is(err)) throw err;
    return withLog(scannerFailureResult('trivy', 'Trivy', 'crashed', err.message, result, options), result);
  }
}
