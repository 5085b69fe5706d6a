import type { Executor } from '../../executors/executor.js';
import { ReportInvalid } from '../../errors.js';
import { scannerFailureResult, scannerReport } from '../scanner-failure.js';
import { withLog, type GateContext, type GateResult, type ScannerFailureOptions } from '../types.js';
import { evaluateZap, type ZapPolicy } from './evaluate-zap.js';
import { parseZapReport } from './parse-zap-report.js';

/** The official image; pin it by digest in the gate options for reproducible scans. */
export const DEFAULT_ZAP_IMAGE = 'ghcr.io/zaproxy/zaproxy:stable';
/** In the ZAP image, the scripts read and write files under /zap/wrk (their "mounted" dir). */
const ZAP_WORK_DIR = '/zap/wrk';
const REPORT_NAME = 'shipgate-zap.json';

export interface ZapGateOptions extends ZapPolicy, ScannerFailureOptions {
  /** The URL to scan (e.g. the Rollout's preview service). */
  targetUrl: string;
  /** Image that runs ZAP under the Kubernetes executor. @defaultValue `DEFAULT_ZAP_IMAGE` */
  scannerImage?: string | undefined;
  /** Spider minutes (`-m`). @defaultValue 1 */
  spiderMinutes?: number | undefined;
  /** Extra `-z` ZAP options, e.g. `-config api.disablekey=true`. */
  zapOptions?: string | undefined;
  /** @defaultValue 900 */
  timeoutSeconds?: number | undefined;
  resources?: { cpu?: string; memory?: string } | undefined;
}

/** argv for the baseline scan; pure. `-I`: warnings alone do not change ZAP's exit code. */
export function zapCommand(options: ZapGateOptions): string[] {
  const url = new URL(options.targetUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new RangeError('ZAP target must be http(s)');
  return [
    'zap-baseline.py',
    '-t',
    url.href,
    '-J',
    REPORT_NAME,
    '-I',
    '-m',
    String(options.spiderMinutes ?? 1),
    ...(options.zapOptions ? ['-z', options.zapOptions] : []),
  ];
}

/**
 * ZAP's exit status says 0 (pass), 1 (FAIL rules hit), 2 (warnings), 3 (error). The verdict
 * comes from the report and Shipgate's policy, not from the status — except that 3 and other
 * statuses mean the scan itself went wrong, which fails closed.
 */
export async function runZapGate(
  executor: Executor,
  context: GateContext,
  options: ZapGateOptions,
  run: { signal?: AbortSignal | undefined } = {},
): Promise<GateResult> {
  const timeoutSeconds = options.timeoutSeconds ?? 900;
  const result = await executor.run(
    {
      runId: context.runId,
      gate: 'zap',
      attemptKey: context.attemptKey,
      image: options.scannerImage ?? DEFAULT_ZAP_IMAGE,
      command: zapCommand(options),
      // The image runs as user zap (1000) with its state in /home/zap.
      env: { HOME: '/home/zap' },
      timeoutSeconds,
      resources: options.resources,
      reportFiles: { zap: REPORT_NAME },
      container: { workingDir: ZAP_WORK_DIR, readOnlyRootFilesystem: false, runAsUser: 1000 },
    },
    { signal: run.signal },
  );
  // 0 (clean), 1 (FAIL rules) and 2 (WARN rules) all mean the scan ran: the report decides.
  const read = scannerReport(
    result,
    {
      gate: 'zap',
      scanner: 'ZAP',
      command: 'zap-baseline.py',
      report: { name: 'zap', file: REPORT_NAME },
      process: 'zap-baseline.py',
      okExitCodes: [0, 1, 2],
      timeoutSeconds,
    },
    options,
  );
  if ('done' in read) return withLog(read.done, result);
  const text = read.text;
  try {
    return withLog(evaluateZap(parseZapReport(text), options), result);
  } catch (err) {
    if (!ReportInvalid.is(err)) throw err;
    return withLog(scannerFailureResult('zap', 'ZAP', 'crashed', err.message, result, options), result);
  }
}
