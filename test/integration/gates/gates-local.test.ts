import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from '../../../src/executors/local-executor.js';
import { runTestsGate } from '../../../src/gates/tests/tests-gate.js';
import { runTrivyGate } from '../../../src/gates/trivy/trivy-gate.js';
import type { GateContext } from '../../../src/gates/types.js';
import { runZapGate } from '../../../src/gates/zap/zap-gate.js';
import { installFakeScanners, type FakeScanners } from '../../support/fake-scanners/install.js';
import { createGitRemote, type GitRemote } from '../../../sandbox/git-remote.js';
import { FIXTURES } from '../../support/fixtures.js';

const TRIVY = `${FIXTURES}/trivy`;
const ZAP = `${FIXTURES}/zap`;
const NOW = new Date('2025-06-15T00:00:00Z');

let remote: GitRemote;
let scanners: FakeScanners;
let workRoot: string;
let withScanners: LocalExecutor;
let withoutScanners: LocalExecutor;
let context: GateContext;

function scannerMounts() {
  return [
    { source: scanners.binDir, target: scanners.binDir, writable: true },
    { source: FIXTURES, target: FIXTURES, writable: false },
  ];
}

beforeAll(() => {
  remote = createGitRemote([
    {
      'requirements.txt': 'urllib3==1.26.3\n',
      'run-tests.sh': {
        executable: true,
        content: `#!/bin/sh
mkdir -p reports
if [ "$1" = fail ]; then
  echo "FAILED tests/test_api.py::test_broken - assert 1 == 2"
  cat > reports/junit.xml <<'XML'
<testsuites><testsuite name="pytest" tests="2" failures="1">
<testcase classname="tests.test_api" name="test_ok" file="tests/test_api.py" line="3"/>
<testcase classname="tests.test_api" name="test_broken" file="tests/test_api.py" line="10"><failure message="assert 1 == 2">assert 1 == 2</failure></testcase>
</testsuite></testsuites>
XML
  exit 1
fi
echo "2 passed"
echo '<testsuite name="s" tests="2"><testcase name="a"/><testcase name="b"/></testsuite>' > reports/junit.xml
`,
      },
    },
  ]);
  scanners = installFakeScanners();
  workRoot = mkdtempSync(path.join(tmpdir(), 'shipgate-gates-'));
  // Sandboxed gates see only what is mounted: the stand-ins log to their folder and read fixtures.
  withScanners = new LocalExecutor({
    workRoot,
    path: `${scanners.binDir}:${process.env.PATH}`,
    mounts: scannerMounts(),
  });
  withoutScanners = new LocalExecutor({ workRoot, path: '/usr/bin:/bin' });
  context = {
    runId: 'run-9',
    attemptKey: 'run-9:gate',
    checkout: { cloneUrl: remote.fileUrl, sha: remote.shas[0]! },
  };
});

afterAll(() => {
  remote.cleanup();
  scanners.cleanup();
  rmSync(workRoot, { recursive: true, force: true });
});

describe('tests gate through the local executor', () => {
  it('passes, with the JUnit counts', async () => {
    const result = await runTestsGate(withScanners, context, {
      command: ['./run-tests.sh'],
      image: 'app:ci',
      junitPath: 'reports/junit.xml',
    });
    expect(result).toMatchObject({ conclusion: 'success', title: '2 tests passed' });
    expect(result.summary).toContain('2 passed');
  });

  it('fails with annotations on the failing test', async () => {
    const result = await runTestsGate(withScanners, context, {
      command: ['./run-tests.sh', 'fail'],
      image: 'app:ci',
      junitPath: 'reports/junit.xml',
    });
    expect(result).toMatchObject({ conclusion: 'failure', title: '1 of 2 tests failed' });
    expect(result.annotations).toEqual([
      expect.objectContaining({ path: 'tests/test_api.py', start_line: 10 }),
    ]);
    expect(result.summary).toContain('FAILED tests/test_api.py::test_broken');
  });
});

describe('trivy gate through the local executor and the stand-in scanner', () => {
  it('scans the checkout (fs) and judges the real report', async () => {
    scanners.configure({ trivy: { fixture: `${TRIVY}/fs-vulns-misconfig-secrets.json` } });
    const result = await runTrivyGate(withScanners, context, { mode: 'fs' }, { now: NOW });
    expect(result.conclusion).toBe('failure');
    expect(result.counts).toMatchObject({ CRITICAL: 2, HIGH: 2, MEDIUM: 1 });
    expect(result.annotations.length).toBe(5);
    const [call] = scanners.calls();
    expect(call!.args.slice(0, 5)).toEqual(['fs', '--format', 'json', '--output', 'shipgate-trivy.json']);
    expect(call!.args.at(-1)).toBe('.');
    expect(call!.files).toEqual(expect.arrayContaining(['.git', 'requirements.txt', 'run-tests.sh']));
    expect(call!.env).not.toContain('GITHUB_TOKEN');
  });

  it('scans an image without a checkout and passes a clean report', async () => {
    for (const fixture of ['image-no-results-key.json', 'image-no-vulnerabilities.json']) {
      scanners.configure({ trivy: { fixture: `${TRIVY}/${fixture}` } });
      const result = await runTrivyGate(withScanners, context, {
        mode: 'image',
        imageRef: 'ghcr.io/acme/app:1.2.3',
      });
      expect(result).toMatchObject({ conclusion: 'success', title: 'No findings', annotations: [] });
      expect(scanners.calls()[0]!.args.slice(0, 1).concat(scanners.calls()[0]!.args.slice(-1))).toEqual([
        'image',
        'ghcr.io/acme/app:1.2.3',
      ]);
      expect(scanners.calls()[0]!.files).toEqual([]);
    }
  });

  it('fails closed when trivy is missing, unless the gate says neutral', async () => {
    const failed = await runTrivyGate(withoutScanners, context, { mode: 'fs' });
    expect(failed).toMatchObject({ conclusion: 'failure', title: 'Trivy is not installed' });
    expect(failed.summary).toContain('fails closed');
    const neutral = await runTrivyGate(withoutScanners, context, { mode: 'fs', onScannerMissing: 'neutral' });
    expect(neutral).toMatchObject({
      conclusion: 'neutral',
      title: 'Trivy is not installed (neutral by configuration)',
    });
  });

  it('fails closed on a crash, a missing report, a truncated report and a 51 MB report', async () => {
    const cases = [
      [{ behaviour: 'crash' }, /Trivy exited with status 1/],
      [{ behaviour: 'no-report' }, /wrote no shipgate-trivy.json/],
      [{ behaviour: 'truncated' }, /not valid JSON/],
      [{ behaviour: 'huge' }, /over the 52428800-byte limit/],
    ] as const;
    for (const [behaviour, message] of cases) {
      scanners.configure({ trivy: { ...behaviour, fixture: `${TRIVY}/image-photon30-4-severities.json` } });
      const result = await runTrivyGate(withScanners, context, { mode: 'fs' });
      expect(result.conclusion, behaviour.behaviour).toBe('failure');
      expect(result.title).toBe('Trivy did not produce a valid report');
      expect(result.summary).toMatch(message);
    }
  });

  it('fails closed on a scanner timeout', async () => {
    scanners.configure({ trivy: { behaviour: 'hang' } });
    const executor = new LocalExecutor({
      workRoot,
      path: `${scanners.binDir}:${process.env.PATH}`,
      mounts: scannerMounts(),
      killGraceMs: 200,
    });
    // runTrivyGate adds 30 s of grace to the scan timeout; drive the executor's limit directly.
    const result = await runTrivyGate(
      { kind: 'local', run: (spec, o) => executor.run({ ...spec, timeoutSeconds: 1 }, o) },
      context,
      { mode: 'fs' },
    );
    expect(result).toMatchObject({ conclusion: 'failure', title: 'Trivy timed out' });
  });
});

describe('zap gate through the local executor and the stand-in scanner', () => {
  it('judges by the report, not by zap-baseline exit status 2 (warnings)', async () => {
    scanners.configure({ zap: { fixture: `${ZAP}/baseline-zap2.14-medium-low-info.json`, exitCode: 2 } });
    const result = await runZapGate(
      withScanners,
      { runId: 'r', attemptKey: 'r:zap' },
      { targetUrl: 'http://preview.test/' },
    );
    expect(result).toMatchObject({
      conclusion: 'success',
      title: 'No failing alerts (2 Medium, 4 Low, 7 Informational)',
    });
    expect(scanners.calls()[0]!.args).toEqual([
      '-t',
      'http://preview.test/',
      '-J',
      'shipgate-zap.json',
      '-I',
      '-m',
      '1',
    ]);
  });

  it('fails at the configured threshold, with per-rule overrides', async () => {
    scanners.configure({ zap: { fixture: `${ZAP}/baseline-zap2.8-compact-legacy.json`, exitCode: 0 } });
    const failing = await runZapGate(
      withScanners,
      { runId: 'r', attemptKey: 'r:zap' },
      { targetUrl: 'https://www.example.com', failThreshold: 'medium' },
    );
    expect(failing.conclusion).toBe('failure');
    const waived = await runZapGate(
      withScanners,
      { runId: 'r', attemptKey: 'r:zap' },
      {
        targetUrl: 'https://www.example.com',
        failThreshold: 'medium',
        rules: [{ id: '10020', action: 'warn' }],
      },
    );
    expect(waived.conclusion).toBe('success');
  });

  it('fails closed on ZAP errors (status 3) and on a missing zap-baseline.py', async () => {
    scanners.configure({ zap: { behaviour: 'crash', exitCode: 3 } });
    const crashed = await runZapGate(
      withScanners,
      { runId: 'r', attemptKey: 'r:zap' },
      { targetUrl: 'http://t/' },
    );
    expect(crashed).toMatchObject({ conclusion: 'failure', title: 'ZAP did not produce a valid report' });
    expect(crashed.summary).toContain('simulated crash');
    const missing = await runZapGate(
      withoutScanners,
      { runId: 'r', attemptKey: 'r:zap' },
      { targetUrl: 'http://t/' },
    );
    expect(missing).toMatchObject({ conclusion: 'failure', title: 'ZAP is not installed' });
  });
});
