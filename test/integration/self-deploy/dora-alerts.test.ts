import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

const RULE_FILE = 'manifests/components/monitoring/prometheusrule.yaml';

describe('DORA alert rules', () => {
  it('pass promtool check rules and the promtool unit tests', () => {
    const rule = parse(readFileSync(RULE_FILE, 'utf8')) as { spec: { groups: { name: string }[] } };
    expect(rule.spec.groups.map((g) => g.name)).toContain('shipgate.dora');
    const dir = mkdtempSync(path.join(tmpdir(), 'promtool-dora-'));
    try {
      writeFileSync(path.join(dir, 'rules.yaml'), stringify(rule.spec));
      copyFileSync('test/fixtures/prometheus/dora-alerts.test.yaml', path.join(dir, 'dora-alerts.test.yaml'));
      expect(
        execFileSync('promtool', ['check', 'rules', 'rules.yaml'], { cwd: dir, encoding: 'utf8' }),
      ).toMatch(/SUCCESS/);
      const out = execFileSync('promtool', ['test', 'rules', 'dora-alerts.test.yaml'], {
        cwd: dir,
        encoding: 'utf8',
      });
      expect(out).toMatch(/SUCCESS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
