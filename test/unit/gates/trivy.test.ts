import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ReportInvalid } from '../../../src/errors.js';
import { evaluateTrivy } from '../../../src/gates/trivy/evaluate-trivy.js';
import { parseTrivyReport } from '../../../src/gates/trivy/parse-trivy-report.js';
import { trivyCommand } from '../../../src/gates/trivy/trivy-gate.js';
import { FIXTURES } from '../../support/fixtures.js';

const DIR = `${FIXTURES}/trivy`;
const fixture = (name: string) => readFileSync(path.join(DIR, name), 'utf8');
const NOW = new Date('2025-06-15T12:00:00Z');

describe('parseTrivyReport + evaluateTrivy on every fixture', () => {
  it('covers every file in the fixtures directory', () => {
    for (const file of readdirSync(DIR)) {
      const result = evaluateTrivy(parseTrivyReport(fixture(file)), {}, NOW);
      expect(['success', 'failure']).toContain(result.conclusion);
      expect(result.summary.length).toBeLessThan(65_000);
    }
  });

  it('fs: vulnerabilities, misconfigurations and secrets, with annotations and no secret values', () => {
    const report = parseTrivyReport(fixture('fs-vulns-misconfig-secrets.json'));
    expect(report.findings.map((f) => `${f.kind}:${f.id}:${f.severity}`).sort()).toEqual(
      [
        'misconfiguration:DS002:HIGH',
        'secret:github-pat:CRITICAL',
        'secret:github-pat:CRITICAL',
        'vulnerability:CVE-2021-28363:MEDIUM',
        'vulnerability:CVE-2021-33503:HIGH',
      ].sort(),
    );
    const result = evaluateTrivy(report, { mode: 'fs' }, NOW);
    expect(result.conclusion).toBe('failure');
    expect(result.counts).toMatchObject({ CRITICAL: 2, HIGH: 2, MEDIUM: 1, LOW: 0, UNKNOWN: 0, blocking: 4 });
    expect(result.title).toBe('4 blocking findings (2 CRITICAL, 2 HIGH, 1 MEDIUM)');
    const where = result.annotations.map((a) => `${a.path}:${a.start_line}:${a.annotation_level}`).sort();
    expect(where).toEqual(
      [
        'Dockerfile:1:failure',
        'Dockerfile:24:failure',
        'requirements.txt:1:failure',
        'requirements.txt:1:warning',
        'secret.txt:1:failure',
      ].sort(),
    );
    expect(result.summary).toContain('1.26.5');
    expect(JSON.stringify(result)).not.toContain('GITHUB_PAT');
  });

  it('never echoes a secret value, even when the report carries it unmasked', () => {
    const raw = JSON.parse(fixture('fs-vulns-misconfig-secrets.json'));
    const leaked = 'ghp_R3alLooking5ecretValue0123456789abcd';
    raw.Results[2].Secrets[0].Match = `ENV GITHUB_PAT=${leaked}`;
    raw.Results[2].Secrets[0].Code = {
      Lines: [{ Number: 24, Content: `ENV GITHUB_PAT=${leaked}`, IsCause: true }],
    };
    const report = parseTrivyReport(JSON.stringify(raw));
    expect(JSON.stringify(report)).not.toContain(leaked);
    expect(JSON.stringify(evaluateTrivy(report, {}, NOW))).not.toContain(leaked);
  });

  it('image: counts by severity and lists top findings with fixed versions', () => {
    const result = evaluateTrivy(
      parseTrivyReport(fixture('image-photon30-4-severities.json')),
      { mode: 'image' },
      NOW,
    );
    expect(result.counts).toMatchObject({ CRITICAL: 5, HIGH: 7, MEDIUM: 4, LOW: 1, blocking: 12 });
    expect(result.conclusion).toBe('failure');
    expect(result.annotations).toEqual([]);
    expect(result.summary).toMatch(/CVE-2019-18276.*bash.*4\.4\.18-1\.ph3 \| 4\.4\.18-2\.ph3/);
  });

  it('a report without a Results key, or without vulnerabilities, passes', () => {
    for (const name of ['image-no-results-key.json', 'image-no-vulnerabilities.json']) {
      const result = evaluateTrivy(parseTrivyReport(fixture(name)), { mode: 'image' }, NOW);
      expect(result).toMatchObject({ conclusion: 'success', title: 'No findings' });
    }
  });

  it('UNKNOWN severity passes by default and fails when listed', () => {
    const report = parseTrivyReport(fixture('repo-gomod-unknown-severity.json'));
    expect(evaluateTrivy(report, {}, NOW)).toMatchObject({
      conclusion: 'success',
      counts: expect.objectContaining({ UNKNOWN: 4, MEDIUM: 1 }),
    });
    expect(evaluateTrivy(report, { failOn: ['UNKNOWN'] }, NOW).conclusion).toBe('failure');
  });
});

describe('Trivy policy', () => {
  const photon = () => parseTrivyReport(fixture('image-photon30-4-severities.json'));

  it('ignores a finding until its expiry, then counts it again and says so', () => {
    const ignore = [{ id: 'CVE-2019-18276', reason: 'bash is not reachable', expires: '2025-06-30' }];
    const before = evaluateTrivy(photon(), { ignore }, new Date('2025-06-30T23:59:00Z'));
    expect(before.counts).toMatchObject({ CRITICAL: 4, ignored: 1 });
    expect(before.summary).toContain('bash is not reachable');
    expect(before.summary).not.toContain('Expired ignores');

    const after = evaluateTrivy(photon(), { ignore }, new Date('2025-07-01T00:00:00Z'));
    expect(after.counts).toMatchObject({ CRITICAL: 5, ignored: 0 });
    expect(after.summary).toContain('Expired ignores');
    expect(after.summary).toMatch(/CVE-2019-18276.*expired on 2025-06-30.*1 finding counts again/);
  });

  it('treats an unreadable expiry as expired', () => {
    const result = evaluateTrivy(
      photon(),
      { ignore: [{ id: 'CVE-2019-18276', reason: 'x', expires: 'soon' }] },
      NOW,
    );
    expect(result.counts).toMatchObject({ CRITICAL: 5 });
    expect(result.summary).toContain('unreadable expiry');
  });

  it('can fail only on CRITICAL, and can ignore everything that fails', () => {
    const ids = photon()
      .findings.filter((f) => f.severity === 'CRITICAL')
      .map((f) => ({ id: f.id, reason: 'accepted' }));
    const result = evaluateTrivy(photon(), { failOn: ['CRITICAL'], ignore: ids }, NOW);
    expect(result.conclusion).toBe('success');
    expect(result.title).toMatch(/^No blocking findings/);
  });

  it('ignoreUnfixed skips vulnerabilities without a fixed version', () => {
    const raw = JSON.parse(fixture('image-photon30-4-severities.json'));
    for (const v of raw.Results[0].Vulnerabilities) if (v.Severity === 'CRITICAL') delete v.FixedVersion;
    const report = parseTrivyReport(JSON.stringify(raw));
    expect(evaluateTrivy(report, {}, NOW).summary).toContain('no fix yet');
    const result = evaluateTrivy(report, { ignoreUnfixed: true }, NOW);
    expect(result.counts).toMatchObject({ CRITICAL: 0, HIGH: 7, unfixedSkipped: 5 });
  });
});

describe('hostile Trivy reports', () => {
  it('rejects truncated JSON and other documents', () => {
    const text = fixture('image-photon30-4-severities.json');
    for (const bad of [
      text.slice(0, text.length / 2),
      '',
      '[]',
      '{"SchemaVersion":1,"Results":[]}',
      'null',
    ]) {
      expect(() => parseTrivyReport(bad)).toThrow(expect.objectContaining({ code: ReportInvalid.code }));
    }
  });

  it('counts unknown severities as UNKNOWN and says so; skips malformed entries', () => {
    const raw = {
      SchemaVersion: 2,
      Results: [
        {
          Target: 'go.mod',
          Vulnerabilities: [{ VulnerabilityID: 'X-1', Severity: 'SUPER-BAD' }, 42, { nope: 1 }],
        },
        'garbage',
        {
          Target: 'a',
          Vulnerabilities: null,
          Secrets: null,
          Misconfigurations: [{ ID: 'P', Status: 'PASS' }],
        },
      ],
    };
    const report = parseTrivyReport(JSON.stringify(raw));
    expect(report.findings).toHaveLength(1);
    expect(report.malformedEntries).toBe(3);
    const result = evaluateTrivy(report, { failOn: ['CRITICAL'] }, NOW);
    expect(result.counts).toMatchObject({ UNKNOWN: 1 });
    expect(result.summary).toContain('SUPER-BAD');
    expect(result.summary).toContain('3 malformed entries');
  });

  it('caps the findings kept from a huge report but counts all of them', () => {
    const severities = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
    const vulns = Array.from({ length: 20_000 }, (_, i) => ({
      VulnerabilityID: `CVE-2024-${i}`,
      PkgName: `pkg-${i}|<b>`,
      InstalledVersion: '1.0',
      FixedVersion: '1.1',
      Severity: severities[i % 4],
      Title: 'x'.repeat(500),
    }));
    const report = parseTrivyReport(
      JSON.stringify({ SchemaVersion: 2, Results: [{ Target: 'go.sum', Vulnerabilities: vulns }] }),
      {
        maxFindings: 1000,
      },
    );
    expect(report.findings).toHaveLength(1000);
    expect(report.findings.every((f) => f.severity === 'CRITICAL')).toBe(true);
    const result = evaluateTrivy(report, {}, NOW);
    expect(result.counts).toMatchObject({
      CRITICAL: 5000,
      HIGH: 5000,
      MEDIUM: 5000,
      LOW: 5000,
      blocking: 10_000,
    });
    expect(result.summary.length).toBeLessThan(65_000);
    expect(result.summary).toContain('19000 lower-severity findings are counted but not listed');
    expect(result.summary).not.toContain('<b>');
    expect(result.annotations).toHaveLength(50);
  });
});

describe('trivyCommand', () => {
  it('builds fs and image scans with a JSON report', () => {
    expect(trivyCommand({ mode: 'fs' })).toEqual([
      'trivy',
      'fs',
      '--format',
      'json',
      '--output',
      'shipgate-trivy.json',
      '--scanners',
      'vuln,secret,misconfig',
      '--timeout',
      '600s',
      '--quiet',
      '.',
    ]);
    expect(
      trivyCommand({ mode: 'image', imageRef: 'ghcr.io/acme/app@sha256:abc', cacheDir: '/cache' }).slice(-4),
    ).toEqual(['--quiet', '--cache-dir', '/cache', 'ghcr.io/acme/app@sha256:abc']);
    expect(() => trivyCommand({ mode: 'image' })).toThrow(/imageRef/);
  });
});
