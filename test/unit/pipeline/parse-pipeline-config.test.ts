import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../../src/pipeline/parse-pipeline-config.js';
import type { ConfigIssue } from '../../../src/yaml/parse-yaml-with-schema.js';

const EXAMPLE = readFileSync(new URL('./examples/shipgate.yml', import.meta.url), 'utf8');

const MINIMAL = `version: 1
app: web
image:
  repository: ghcr.io/acme/web
test:
  image: node:20
  command: npm test
manifests:
  staging:
    kustomize: deploy/staging
environments: [staging]
`;

function issues(text: string): ConfigIssue[] {
  const result = parsePipelineConfig(text);
  if (result.ok) throw new Error('expected the config to be refused');
  return result.errors;
}

function config(text: string) {
  const result = parsePipelineConfig(text);
  if (!result.ok) throw new Error(`expected a valid config: ${JSON.stringify(result.errors, null, 2)}`);
  return result.config;
}

/** Compact form for exact assertions: "line:column yamlPath". */
const where = (list: ConfigIssue[]) => list.map((i) => `${i.line}:${i.column} ${i.yamlPath}`);

describe('valid files', () => {
  it('parses the documented example into a complete, normalised config', () => {
    const c = config(EXAMPLE);
    expect(c.app).toBe('web-shop');
    expect(c.image).toEqual({ repository: 'ghcr.io/acme/web-shop', tag: '{version}' });
    expect(c.test).toEqual({
      image: 'node:20-bookworm',
      command: ['sh', '-c', 'npm ci && npm test'],
      timeoutSeconds: 600,
      workingDirectory: '.',
      env: { CI: 'true', NODE_ENV: 'test' },
      junit: 'reports/junit-*.xml',
    });
    expect(c.scan.trivy).toEqual({
      mode: 'image',
      failOn: ['CRITICAL', 'HIGH'],
      ignoreUnfixed: true,
      ignore: [
        {
          id: 'CVE-2024-21538',
          reason: 'cross-spawn is only used by the build tooling, not at runtime',
          expires: '2025-06-30',
        },
      ],
      onScannerMissing: 'fail',
    });
    expect(c.scan.zap.rules).toEqual([
      { id: '10038', action: 'warn', reason: 'CSP ships with the next release' },
      { id: '10096', action: 'ignore' },
    ]);
    expect(c.manifests).toEqual({
      staging: { kind: 'kustomize', path: 'deploy/overlays/staging' },
      production: { kind: 'kustomize', path: 'deploy/overlays/production' },
    });
    expect(c.environments).toEqual([
      { name: 'staging', strategy: 'blueGreen', zap: { path: '/' } },
      { name: 'production', strategy: 'blueGreen', zap: { path: '/shop' } },
    ]);
  });

  it('fills every default for a minimal file', () => {
    const c = config(MINIMAL);
    expect(c.image.tag).toBe('{tag}');
    expect(c.test.timeoutSeconds).toBe(900);
    expect(c.test.env).toEqual({});
    expect(c.test.junit).toBeUndefined();
    expect(c.scan).toEqual({
      trivy: {
        mode: 'image',
        failOn: ['CRITICAL', 'HIGH'],
        ignoreUnfixed: false,
        ignore: [],
        onScannerMissing: 'fail',
      },
      zap: { failThreshold: 'High', rules: [], onScannerMissing: 'fail' },
    });
  });

  it('keeps an argv command as it is and normalises manifest paths', () => {
    const c = config(
      MINIMAL.replace('command: npm test', 'command: ["/app/test", "--ci"]').replace(
        'kustomize: deploy/staging',
        'directory: ./deploy//staging/',
      ),
    );
    expect(c.test.command).toEqual(['/app/test', '--ci']);
    expect(c.manifests.staging).toEqual({ kind: 'directory', path: 'deploy/staging' });
  });

  it('accepts a file that uses anchors within the limits', () => {
    const text = `${MINIMAL.replace('environments: [staging]', 'environments: [staging, production]').replace(
      '  staging:\n    kustomize: deploy/staging',
      '  staging: &k\n    kustomize: deploy/staging\n  production: *k',
    )}`;
    expect(config(text).manifests.production).toEqual({ kind: 'kustomize', path: 'deploy/staging' });
  });
});

describe('invalid files: exact locations', () => {
  it('reports every problem of a multi-error file on its own line and column', () => {
    const text = [
      'version: 1', // 1
      'app: Web_Shop', // 2
      'image:', // 3
      '  repository: ghcr.io/acme/web-shop:latest', // 4
      'test:', // 5
      '  image: node:20', // 6
      '  comand: npm test', // 7
      '  timeoutSeconds: 99999', // 8
      '  env:', // 9
      '    SHIPGATE_TOKEN: x', // 10
      'scan:', // 11
      '  trivy:', // 12
      '    mode: filesystem', // 13
      '    failOn: [CRITICAL, high]', // 14
      '    ignore:', // 15
      '      - id: CVE-2024-1', // 16
      '        expires: 2024-02-30', // 17
      'manifests:', // 18
      '  staging: { kustomize: ../../etc }', // 19
      'environments:', // 20
      '  - staging', // 21
      '  - name: production', // 22
      '    zapp: {}', // 23
      '', //
    ].join('\n');
    const list = issues(text);
    expect(where(list)).toEqual([
      '2:6 app',
      '4:15 image.repository',
      '5:1 test.command', // a missing key is reported on its parent's key
      '7:3 test.comand',
      '8:19 test.timeoutSeconds',
      '10:5 test.env.SHIPGATE_TOKEN',
      '13:11 scan.trivy.mode',
      '14:24 scan.trivy.failOn[1]',
      '16:9 scan.trivy.ignore[0].reason', // missing: on the list item
      '17:18 scan.trivy.ignore[0].expires',
      '19:25 manifests.staging.kustomize',
      '23:5 environments[1].zapp',
    ]);
    const byPath = Object.fromEntries(list.map((i) => [i.yamlPath, i]));
    expect(byPath['test.comand']).toMatchObject({
      file: '.shipgate.yml',
      message: 'unknown key "comand" in test (did you mean "command"?)',
    });
    expect(byPath['test.comand']!.expected).toContain('command');
    expect(byPath['test.command']!.message).toBe('"test.command" is required');
    expect(byPath['test.timeoutSeconds']!.expected).toBe('<= 3600');
    expect(byPath['scan.trivy.mode']!.expected).toBe('one of: "image", "fs"');
    expect(byPath['scan.trivy.ignore[0].reason']!.message).toBe('"scan.trivy.ignore[0].reason" is required');
    expect(byPath['scan.trivy.ignore[0].expires']!.message).toContain('not a real calendar date');
    expect(byPath['manifests.staging.kustomize']!.message).toContain('must not contain ".."');
    expect(byPath['environments[1].zapp']!.message).toContain('did you mean "zap"');
  });

  it('uses the file name it is given', () => {
    expect(parsePipelineConfig('version: 2\n', 'services/api/.shipgate.yml')).toMatchObject({
      ok: false,
      errors: expect.arrayContaining([expect.objectContaining({ file: 'services/api/.shipgate.yml' })]),
    });
  });

  it('reports an unsupported version and missing top-level keys', () => {
    const list = issues('version: 2\n');
    expect(list.find((i) => i.yamlPath === 'version')).toMatchObject({ line: 1, column: 10, expected: '1' });
    expect(list.find((i) => i.yamlPath === 'app')).toMatchObject({
      line: 1,
      column: 1,
      message: '"app" is required',
    });
    expect(list.map((i) => i.yamlPath)).toEqual(
      expect.arrayContaining(['app', 'image', 'test', 'manifests', 'environments']),
    );
  });

  it('refuses an empty file at line 1', () => {
    expect(issues('')).toEqual([
      {
        file: '.shipgate.yml',
        line: 1,
        column: 1,
        yamlPath: '',
        message: 'the document must be a map, not an empty value',
        expected: 'a map',
      },
    ]);
  });

  it('reports YAML syntax errors with their position', () => {
    const [issue] = issues('version: 1\napp: [web\n');
    expect(issue).toMatchObject({ line: 3, yamlPath: '', expected: 'valid YAML' });
  });

  it.each([
    ['../outside', 'must not contain ".."'],
    ['deploy/../../x', 'must not contain ".."'],
    ['/etc/kubernetes', 'relative, not absolute'],
    ['C:/deploy', 'drive path'],
    ['deploy\\staging', 'not "\\"'],
    ['.git/hooks', '".git"'],
    ['~/deploy', '"~"'],
    ['.', 'not the root'],
  ])('refuses the manifest path %s', (path, reason) => {
    const [issue] = issues(
      MINIMAL.replace('kustomize: deploy/staging', `kustomize: ${JSON.stringify(path)}`),
    );
    expect(issue).toMatchObject({ line: 10, column: 16, yamlPath: 'manifests.staging.kustomize' });
    expect(issue!.message).toContain(reason);
  });

  it('refuses a manifest source with both or neither kind', () => {
    const both = issues(MINIMAL.replace('kustomize: deploy/staging', 'kustomize: a\n    directory: b'));
    expect(where(both)).toEqual(['9:3 manifests.staging']);
    expect(both[0]!.message).toBe('set exactly one of "kustomize" or "directory"');
  });

  it('checks environments against manifests, and duplicate names', () => {
    const text = MINIMAL.replace(
      'environments: [staging]',
      'environments:\n  - staging\n  - production\n  - staging',
    ).replace('manifests:\n', 'manifests:\n  qa:\n    directory: deploy/qa\n');
    const list = issues(text);
    expect(where(list)).toEqual(['9:3 manifests.qa', '15:5 environments[1]', '16:5 environments[2]']);
    expect(list[0]!.message).toBe('"manifests.qa" is not one of the environments');
    expect(list[1]!.message).toBe('environment "production" has no entry under "manifests"');
    expect(list[2]!.message).toBe('environment "staging" is listed twice');
  });

  it('refuses duplicate ignores, rule overrides and severities', () => {
    const text = `${MINIMAL}scan:
  trivy:
    failOn: [HIGH, HIGH]
    ignore:
      - { id: CVE-1, reason: not used, expires: 2030-01-01 }
      - { id: CVE-1, reason: not used, expires: 2030-01-01 }
  zap:
    rules:
      - { id: 10038, action: warn }
      - { id: "10038", action: fail }
`;
    expect(where(issues(text))).toEqual([
      '14:20 scan.trivy.failOn[1]',
      '17:15 scan.trivy.ignore[1].id',
      '21:15 scan.zap.rules[1].id',
    ]);
  });

  it('refuses bad image tag templates, ZAP targets and env names', () => {
    const text = MINIMAL.replace(
      '  repository: ghcr.io/acme/web',
      '  repository: ghcr.io/acme/web\n  tag: "{branch}"',
    )
      .replace('  command: npm test', '  command: npm test\n  env:\n    1X: y')
      .concat('scan:\n  zap:\n    target: ftp://example.com\n');
    expect(where(issues(text))).toEqual(['5:8 image.tag', '10:5 test.env.1X', '17:13 scan.zap.target']);
  });

  it('says what a wrong type is and what was expected', () => {
    const [issue] = issues(MINIMAL.replace('command: npm test', 'command: { run: npm test }'));
    expect(issue).toMatchObject({
      line: 7,
      column: 3,
      yamlPath: 'test.command',
      expected: 'a string or a list',
    });
  });
});

describe('hostile files', () => {
  it('refuses a YAML bomb at line 1 without expanding it', () => {
    const lines = ['version: 1', 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
    for (let i = 1; i < 9; i += 1)
      lines.push(
        `l${i}: &l${i} [${Array(9)
          .fill(`*l${i - 1}`)
          .join(', ')}]`,
      );
    const started = Date.now();
    const list = issues(`${lines.join('\n')}\n`);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ line: 1, column: 1, yamlPath: '' });
    expect(list[0]!.message).toMatch(/expands to more than/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses a file over 256 KiB at line 1', () => {
    const text = `${MINIMAL}# ${'x'.repeat(256 * 1024)}\n`;
    expect(issues(text)).toEqual([
      expect.objectContaining({
        line: 1,
        column: 1,
        message: expect.stringMatching(/larger than 256\.0 KiB/),
      }),
    ]);
  });

  it('refuses several documents', () => {
    expect(issues(`${MINIMAL}---\n${MINIMAL}`)[0]).toMatchObject({ line: 12, column: 1 });
  });

  it('refuses custom tags', () => {
    expect(issues(MINIMAL.replace('npm test', '!!js/function "() => 1"'))[0]).toMatchObject({ line: 7 });
  });

  it.each([
    [
      'test.env',
      MINIMAL.replace('  command: npm test\n', '  command: npm test\n  env:\n    A: "1"\n    __proto__: x\n'),
      '10:5',
    ],
    [
      'test.env (flow)',
      MINIMAL.replace('  command: npm test\n', '  command: npm test\n  env: { constructor: x }\n'),
      '8:10',
    ],
    ['manifests', MINIMAL.replace('manifests:\n', 'manifests:\n  prototype:\n    kustomize: x\n'), '9:3'],
  ])('refuses a __proto__, constructor or prototype key in %s, where it stands', (_what, text, at) => {
    const list = issues(text);
    expect(list.map((i) => `${i.line}:${i.column}`)).toEqual([at]);
    expect(list[0]!.message).toMatch(/^the key "(__proto__|constructor|prototype)" is not allowed/);
    expect(list[0]!.expected).toBe('a key other than __proto__, constructor or prototype');
  });

  it('lists the first 50 of many unknown keys and counts the rest', () => {
    const extra = Array.from({ length: 500 }, (_, i) => `unknown${i}: 1`).join('\n');
    const list = issues(`${MINIMAL}${extra}\n`);
    expect(list).toHaveLength(51);
    expect(list[0]).toMatchObject({ line: 12, column: 1, yamlPath: 'unknown0' });
    expect(list[49]).toMatchObject({ line: 61, column: 1, yamlPath: 'unknown49' });
    expect(list[50]).toMatchObject({ line: 1, column: 1, yamlPath: '' });
    expect(list[50]!.message).toBe('450 more problems are not listed: fix the ones above first');
  });
});
