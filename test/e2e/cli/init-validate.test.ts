import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configIssueAnnotations } from '../../../src/engine/progress/pipeline-of-run.js';
import { parsePipelineConfig } from '../../../src/pipeline/index.js';
import { parsePolicy } from '../../../src/policy/index.js';

/**
 * `shipgate init` and `shipgate validate` through the built bin, `node dist/src/cli.js`, as a user
 * runs it. `npm ci` builds dist/ (the prepare script); it is rebuilt here only when a source is
 * newer, so a local run never tests stale output.
 */
const ROOT = process.cwd();
const BIN = path.join(ROOT, 'dist/src/cli.js');
let work: string;

function shipgate(args: string[], cwd = work) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) {
      newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'shipgate-init-'));
  const built = existsSync(BIN) ? statSync(BIN).mtimeMs : 0;
  if (built < Math.max(newestSource(path.join(ROOT, 'src')), newestSource(path.join(ROOT, 'workers')))) {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
  }
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('shipgate init', { timeout: 240_000 }, () => {
  it('writes a starter .shipgate.yml with the JSON Schema reference, which validates', () => {
    const init = shipgate(['init', 'app', 'web-shop']);
    expect(init.stderr).toBe('');
    expect(init.status).toBe(0);
    const text = readFileSync(path.join(work, 'web-shop/.shipgate.yml'), 'utf8');
    expect(text.split('\n')[0]).toBe(
      '# yaml-language-server: $schema=https://raw.githubusercontent.com/shipgate/shipgate/main/schemas/shipgate.schema.json',
    );
    const parsed = parsePipelineConfig(text);
    expect(parsed.ok && parsed.config.app).toBe('web-shop');

    const validate = shipgate(['validate'], path.join(work, 'web-shop'));
    expect(validate.status).toBe(0);
    expect(validate.stdout).toContain(
      '.shipgate.yml: valid pipeline for app web-shop (environments staging → production)',
    );
  });

  it('writes a starter shipgate/policy.yml with comments, which validates', () => {
    const init = shipgate(['init', 'env-repo', 'envs', '--org', 'acme', '--schema', '../schemas/p.json']);
    expect(init.status).toBe(0);
    const text = readFileSync(path.join(work, 'envs/shipgate/policy.yml'), 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../schemas/p.json');
    expect(text.match(/# CHANGE/g)?.length).toBeGreaterThanOrEqual(4);
    const parsed = parsePolicy(text);
    expect(parsed.ok && parsed.policy.repos.allow).toEqual(['acme/*']);

    const validate = shipgate(['validate', 'envs/shipgate/policy.yml']);
    expect(validate.status).toBe(0);
    expect(validate.stdout).toMatch(/valid policy \(environments staging, production; 1 repo grant\)/);
  });

  it('never overwrites a file without --force', () => {
    const file = path.join(work, 'keep/.shipgate.yml');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, 'mine\n');
    const refused = shipgate(['init', 'app', 'keep']);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/keep\/\.shipgate\.yml already exists: not overwritten \(add --force/);
    expect(readFileSync(file, 'utf8')).toBe('mine\n');

    const forced = shipgate(['init', 'app', 'keep', '--force', '--name', 'kept']);
    expect(forced.status).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/^app: kept /m);
  });

  it('refuses a bad kind, a missing folder and a name that is not a DNS label', () => {
    expect(shipgate(['init', 'cluster', 'x']).status).toBe(2);
    expect(shipgate(['init', 'app']).status).toBe(2);
    const bad = shipgate(['init', 'app', 'x', '--name', 'Web_Shop']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/must be a DNS label/);
  });
});

describe('shipgate validate', { timeout: 240_000 }, () => {
  it('reports each problem at the line and column, in the words, of the check-run annotation', () => {
    const text = [
      'version: 1',
      'app: Web_Shop',
      'image:',
      '  repository: ghcr.io/acme/web',
      'test:',
      '  image: node:24',
      '  command: npm test',
      '  timeoutSecond: 60',
      'manifests:',
      '  staging: { directory: deploy }',
      'environments: [staging, production]',
      '',
    ].join('\n');
    mkdirSync(path.join(work, 'broken'), { recursive: true });
    writeFileSync(path.join(work, 'broken/.shipgate.yml'), text);
    const result = shipgate(['validate', 'broken/.shipgate.yml']);
    expect(result.status).toBe(1);

    // What the service computes for the same text: the worker's parser and its annotations.
    const service = parsePipelineConfig(text, 'broken/.shipgate.yml');
    if (service.ok) throw new Error('the broken file parsed');
    const annotations = configIssueAnnotations(service.errors);
    expect(service.errors.length).toBeGreaterThanOrEqual(3);
    const expected = service.errors.map(
      (e, i) =>
        `broken/.shipgate.yml:${e.line}:${e.column}: ${e.yamlPath ? `${e.yamlPath}: ` : ''}${annotations[i]!.message}`,
    );
    expect(result.stderr.trim().split('\n')).toEqual([
      ...expected,
      `broken/.shipgate.yml: ${service.errors.length} problems`,
    ]);
    expect(result.stderr).toMatch(/^broken\/\.shipgate\.yml:2:6: app: /m);
    expect(result.stderr).toMatch(/^broken\/\.shipgate\.yml:8:3: test\.timeoutSecond: /m);
  });

  it('places policy problems too, and checks several files in one call', () => {
    mkdirSync(path.join(work, 'env2/shipgate'), { recursive: true });
    writeFileSync(
      path.join(work, 'env2/shipgate/policy.yml'),
      'version: 1\nrepos:\n  allow: [acme/*]\nenvironments:\n  staging:\n    namespace: Apps\n',
    );
    const result = shipgate(['validate', 'web-shop/.shipgate.yml', 'env2/shipgate/policy.yml']);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/web-shop\/\.shipgate\.yml: valid pipeline/);
    expect(result.stderr).toMatch(/^env2\/shipgate\/policy\.yml:6:16: environments\.staging\.namespace: /m);
  });

  it('asks for --kind when the name does not say, and reads any name with it', () => {
    writeFileSync(path.join(work, 'pipeline.yaml'), readFileSync(path.join(work, 'web-shop/.shipgate.yml')));
    const unknown = shipgate(['validate', 'pipeline.yaml']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/add --kind pipeline or --kind policy/);
    expect(shipgate(['validate', 'pipeline.yaml', '--kind', 'pipeline']).status).toBe(0);
    const missing = shipgate(['validate', 'nowhere/.shipgate.yml']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/cannot read nowhere\/\.shipgate\.yml: ENOENT/);
  });

  it('renders Shipgate’s own overlays through its renderer and validator, and they pass', () => {
    const result = shipgate(['validate', '.shipgate.yml', '--render'], ROOT);
    expect(result.stdout).toContain(
      '.shipgate.yml: valid pipeline for app shipgate (environments staging → production)',
    );
    expect(result.stdout).toMatch(
      /^staging: rendered \d+ objects from kustomize manifests\/overlays\/staging: valid/m,
    );
    expect(result.stdout).toMatch(
      /^production: rendered \d+ objects from kustomize manifests\/overlays\/production: valid/m,
    );
    expect(result.stderr).not.toMatch(/: error: /);
    expect(result.status).toBe(0);
  });

  it('fails --render on a manifest the service would refuse', () => {
    const app = path.join(work, 'bad-manifests');
    mkdirSync(path.join(app, 'deploy'), { recursive: true });
    writeFileSync(
      path.join(app, '.shipgate.yml'),
      readFileSync(path.join(work, 'web-shop/.shipgate.yml'), 'utf8')
        .replace('kustomize: deploy/overlays/staging', 'directory: deploy')
        .replace('kustomize: deploy/overlays/production', 'directory: deploy'),
    );
    writeFileSync(
      path.join(app, 'deploy/deployment.yaml'),
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: web\nspec:\n  replicas: many\n',
    );
    const result = shipgate(['validate', '--render'], app);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      /^staging: error: deployment-web\.yaml \(document 0, line \d+\) spec\.replicas: /m,
    );
  });
});
