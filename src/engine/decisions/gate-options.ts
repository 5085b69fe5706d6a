import type { TestsGateOptions, TrivyGateOptions, ZapGateOptions, ZapRisk } from '../../gates/index.js';
import { releaseImageReference, type PipelineConfig } from '../../pipeline/index.js';
import type { Run } from '../../runs/run-types.js';

/**
 * Maps `.shipgate.yml` onto the gates' own option types. Pure, so what a setting does to a
 * gate is tested without running anything.
 */
export function testsGateOptions(pipeline: PipelineConfig): TestsGateOptions {
  const { test } = pipeline;
  const dir = test.workingDirectory;
  // The executors run in the checkout root; `cd` in a tiny shell keeps argv commands intact.
  const command =
    dir === '.' || dir === '' ? test.command : ['sh', '-c', 'cd "$0" && exec "$@"', dir, ...test.command];
  const junitPath = test.junit === undefined ? undefined : dir === '.' ? test.junit : `${dir}/${test.junit}`;
  return { command, image: test.image, junitPath, env: test.env, timeoutSeconds: test.timeoutSeconds };
}

export function trivyGateOptions(pipeline: PipelineConfig, run: Run): TrivyGateOptions {
  const trivy = pipeline.scan.trivy;
  // Pull requests always scan the source tree: there is no released image to scan yet.
  const mode = run.kind === 'pr' ? 'fs' : trivy.mode;
  return {
    mode,
    imageRef:
      mode === 'image'
        ? releaseImageReference(pipeline, { tag: run.tag ?? run.sha, sha: run.sha })
        : undefined,
    failOn: trivy.failOn,
    ignoreUnfixed: trivy.ignoreUnfixed,
    ignore: trivy.ignore,
    onScannerMissing: trivy.onScannerMissing,
  };
}

export function zapGateOptions(pipeline: PipelineConfig, targetUrl: string): ZapGateOptions {
  const zap = pipeline.scan.zap;
  return {
    targetUrl,
    failThreshold: zap.failThreshold.toLowerCase() as ZapRisk,
    rules: zap.rules.map((rule) => ({ id: String(rule.id), action: rule.action })),
    onScannerMissing: zap.onScannerMissing,
  };
}
