import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ReportInvalid } from '../../../src/errors.js';
import { evaluateZap } from '../../../src/gates/zap/evaluate-zap.js';
import { parseZapReport } from '../../../src/gates/zap/parse-zap-report.js';
import { zapCommand } from '../../../src/gates/zap/zap-gate.js';
import { FIXTURES } from '../../support/fixtures.js';

const DIR = `${FIXTURES}/zap`;
const fixture = (name: string) => readFileSync(path.join(DIR, name), 'utf8');
const modern = () => fixture('baseline-zap2.14-medium-low-info.json');
const legacy = () => fixture('baseline-zap2.8-compact-legacy.json');

describe('parseZapReport + evaluateZap on every fixture', () => {
  it('covers every file in the fixtures directory', () => {
    for (const file of readdirSync(DIR)) {
      const report = parseZapReport(fixture(file));
      expect(report.alerts.length).toBeGreaterThan(0);
      expect(evaluateZap(report).conclusion).toBe('success');
    }
  });

  it('ZAP 2.14: alerts by risk with instances', () => {
    const report = parseZapReport(modern());
    expect(report.version).toBe('2.14.0');
    expect(report.alerts[0]).toMatchObject({
      pluginId: '10055',
      alertRef: '10055-4',
      risk: 'medium',
      instanceCount: 3,
    });
    const result = evaluateZap(report);
    expect(result.counts).toEqual({ high: 0, medium: 2, low: 4, informational: 7, ignored: 0, blocking: 0 });
    expect(result.title).toBe('No failing alerts (2 Medium, 4 Low, 7 Informational)');
    expect(result.summary).toContain('CSP: Wildcard Directive');
    expect(result.summary).toContain(
      'https://vhers-virus-scan-tools-c82b4c-tools.apps.silver.devops.gov.bc.ca/robots.txt',
    );
    // Highest risk first.
    expect(result.summary.indexOf('Medium: CSP')).toBeLessThan(result.summary.indexOf('Low: '));
  });

  it('ZAP 2.8 compact legacy layout: no alertRef, no @programName', () => {
    const report = parseZapReport(legacy());
    expect(report.alerts.every((a) => a.alertRef === a.pluginId)).toBe(true);
    expect(evaluateZap(report).counts).toMatchObject({ medium: 1, low: 6, informational: 1 });
  });

  it('accepts site as a single object and numeric riskcodes', () => {
    const raw = JSON.parse(modern());
    raw.site = raw.site[0];
    for (const a of raw.site.alerts) a.riskcode = Number(a.riskcode);
    expect(evaluateZap(parseZapReport(JSON.stringify(raw))).counts).toMatchObject({ medium: 2, low: 4 });
  });

  it('derives the risk from riskdesc, and counts an unreadable risk as high (fail closed)', () => {
    const raw = JSON.parse(legacy());
    delete raw.site[0].alerts[0].riskcode; // riskdesc "Low (Medium)"
    raw.site[0].alerts[1].riskcode = '9';
    delete raw.site[0].alerts[1].riskdesc;
    const report = parseZapReport(JSON.stringify(raw));
    expect(report.alerts.find((a) => a.pluginId === '10038')?.risk).toBe('low');
    expect(report.alerts.find((a) => a.pluginId === '10050')?.risk).toBe('high');
    expect(evaluateZap(report).conclusion).toBe('failure');
  });
});

describe('ZAP policy', () => {
  it('fails at the threshold', () => {
    const result = evaluateZap(parseZapReport(modern()), { failThreshold: 'medium' });
    expect(result).toMatchObject({
      conclusion: 'failure',
      title: '2 failing alerts (2 Medium, 4 Low, 7 Informational)',
    });
    expect(result.summary).toContain('❌ FAIL');
  });

  it('applies ignore, warn and fail rules; an alertRef rule wins over its plugin id', () => {
    const result = evaluateZap(parseZapReport(modern()), {
      failThreshold: 'medium',
      rules: [
        { id: '10055-4', action: 'ignore' },
        { id: '10055', action: 'fail' },
        { id: '10098', action: 'warn' },
        { id: '90005', action: 'fail' },
      ],
    });
    expect(result.counts).toMatchObject({ medium: 1, ignored: 1, blocking: 4 });
    expect(result.summary).toMatch(/Sec-Fetch-Dest Header is Missing — ❌ FAIL \(rule `90005`: FAIL\)/);
    expect(result.summary).toMatch(/Cross-Domain Misconfiguration — ⚠️ WARN \(rule `10098`: WARN\)/);
    expect(result.summary).toContain('Ignored: CSP: Wildcard Directive');
  });
});

describe('hostile ZAP reports', () => {
  it('rejects truncated JSON and documents of another shape', () => {
    for (const bad of [legacy().slice(0, 5000), '{}', '[]', '"x"', '{"site": 5}']) {
      expect(() => parseZapReport(bad)).toThrow(expect.objectContaining({ code: ReportInvalid.code }));
    }
  });

  it('a report with no sites has no alerts', () => {
    expect(evaluateZap(parseZapReport('{"@version":"2.14.0","site":[]}'))).toMatchObject({
      conclusion: 'success',
      title: 'No alerts',
    });
  });

  it('caps alerts and instances of a huge report and still fails closed on what it cut', () => {
    const alerts = Array.from({ length: 3000 }, (_, i) => ({
      pluginid: String(10000 + i),
      alert: `Alert ${i} \`\`\` | <script>`,
      riskcode: String(i % 4),
      instances: Array.from({ length: 50 }, (_, j) => ({
        uri: `https://t/${j}`,
        method: 'GET',
        evidence: 'e'.repeat(300),
      })),
    }));
    const report = parseZapReport(
      JSON.stringify({ '@version': '2.15.0', site: { '@name': 'https://t', alerts } }),
      {
        maxAlerts: 100,
        maxInstances: 5,
      },
    );
    expect(report.alerts).toHaveLength(100);
    expect(report.alerts[0]!.instances).toHaveLength(5);
    expect(report.alerts[0]!.instanceCount).toBe(50);
    expect(report.omitted).toEqual({ high: 650, medium: 750, low: 750, informational: 750 });
    const result = evaluateZap(report);
    expect(result.counts).toMatchObject({ high: 750, blocking: 750 });
    expect(result.summary.length).toBeLessThanOrEqual(65_000);
    expect(result.summary).not.toContain('<script>');
  });
});

describe('zapCommand', () => {
  it('runs the baseline with a JSON report and -I', () => {
    expect(zapCommand({ targetUrl: 'http://preview.app.svc:8080/' })).toEqual([
      'zap-baseline.py',
      '-t',
      'http://preview.app.svc:8080/',
      '-J',
      'shipgate-zap.json',
      '-I',
      '-m',
      '1',
    ]);
    expect(() => zapCommand({ targetUrl: 'file:///etc/passwd' })).toThrow(/http/);
  });
});
