import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShipgateError } from '../../../src/errors.js';
import { isRemoteReference } from '../../../src/gitops/check-kustomize-sources.js';
import { renderManifests } from '../../../src/gitops/render-manifests.js';

/**
 * A hostile app repo's kustomizations, each rendered through the real renderer (real
 * kustomize in the sandbox). Each must be refused before kustomize runs, naming the
 * kustomization file and the reason, and must leave the folder outside the checkout as it was.
 */

let base: string;
let outside: string;
let bareRepo: string;

const configMap = (name: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  secret: outside-data\n`;

beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), 'shipgate-hostile-kustomize-'));
  outside = path.join(base, 'outside');
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'kustomization.yaml'), 'resources: [cm.yaml]\n');
  writeFileSync(path.join(outside, 'cm.yaml'), configMap('stolen'));
  writeFileSync(path.join(outside, 'secret.env'), 'TOKEN=outside-secret\n');
  bareRepo = path.join(base, 'other.git');
  mkdirSync(bareRepo);
});
afterAll(() => rmSync(base, { recursive: true, force: true }));

let n = 0;
/** A fresh checkout with `deploy/kustomization.yaml` holding `kustomization`. */
function checkout(kustomization: string, extra: (root: string) => void = () => undefined): string {
  const root = path.join(base, `app-${n++}`);
  mkdirSync(path.join(root, 'deploy'), { recursive: true });
  writeFileSync(path.join(root, 'deploy', 'cm.yaml'), configMap('ok'));
  writeFileSync(path.join(root, 'deploy', 'kustomization.yaml'), kustomization);
  extra(root);
  return root;
}

async function refusal(root: string): Promise<ShipgateError> {
  const before = readdirSync(outside).sort();
  const err = (await renderManifests({ checkoutDir: root, source: { kustomize: 'deploy' } }).catch(
    (e: unknown) => e,
  )) as ShipgateError;
  expect(readdirSync(outside).sort()).toEqual(before);
  return err;
}

function expectRefused(err: ShipgateError, reason: RegExp): void {
  expect(err?.code, String(err)).toBe('SHIPGATE_E_GITOPS_PATH_UNSAFE');
  expect(err.message).toContain('deploy/kustomization.yaml');
  expect(err.message).toMatch(reason);
}

const REMOTE_FORMS = [
  'git::file:///tmp/other.git//base',
  'git::https://github.com/acme/other.git//base?ref=v1',
  'github.com/acme/other//base?ref=main',
  'https://github.com/acme/other/base',
  'https://raw.githubusercontent.com/acme/other/main/cm.yaml',
  'ssh://git@github.com/acme/other.git',
  'git@github.com:acme/other.git//base',
  'file:///etc/passwd',
  'base?ref=v1',
  'base//sub',
  'gitlab.com/acme/other/base',
  's3::https://s3.amazonaws.com/bucket/base',
];

describe('hostile kustomizations are refused with the file and the reason', () => {
  for (const form of REMOTE_FORMS) {
    it(`refuses the remote form ${form}`, async () => {
      expect(isRemoteReference(form)).toBe(true);
      expectRefused(await refusal(checkout(`resources:\n  - ${JSON.stringify(form)}\n`)), /remote|outside/);
    });
  }

  it.each([
    ['components', `components:\n  - "git::file://${'/tmp/x.git'}//c"\n`],
    ['bases', 'bases:\n  - "github.com/acme/other//base"\n'],
    ['patches (path)', 'resources: [cm.yaml]\npatches:\n  - path: "https://example.com/patch.yaml"\n'],
    [
      'configMapGenerator files',
      'configMapGenerator:\n  - name: x\n    files: ["k=https://example.com/f"]\n',
    ],
    ['secretGenerator envs', 'secretGenerator:\n  - name: x\n    envs: ["ssh://example.com/x.env"]\n'],
  ])('refuses a remote reference in %s', async (_field, text) => {
    expectRefused(await refusal(checkout(text)), /remote|outside/);
  });

  it('refuses helmCharts', async () => {
    const err = await refusal(
      checkout('helmCharts:\n  - name: x\n    repo: https://charts.example.com\n    version: 1.0.0\n'),
    );
    expectRefused(err, /helm/);
  });

  it('refuses ".."', async () => {
    expectRefused(await refusal(checkout('resources:\n  - ../../outside\n')), /outside the app repository/);
  });

  it('refuses an absolute path', async () => {
    expectRefused(await refusal(checkout(`resources:\n  - ${outside}\n`)), /absolute/);
  });

  it('refuses a symlinked directory', async () => {
    const root = checkout('resources:\n  - linked\n', (r) =>
      symlinkSync(outside, path.join(r, 'deploy', 'linked')),
    );
    expectRefused(await refusal(root), /symlink/);
  });

  it('refuses a symlinked file', async () => {
    const root = checkout('resources:\n  - linked.yaml\n', (r) =>
      symlinkSync(path.join(outside, 'cm.yaml'), path.join(r, 'deploy', 'linked.yaml')),
    );
    expectRefused(await refusal(root), /symlink/);
  });

  it('refuses the ": " trick (a path that looks like inline YAML)', async () => {
    const root = checkout('resources:\n  - "x: y/../../../outside"\n', (r) =>
      mkdirSync(path.join(r, 'deploy', 'x: y'), { recursive: true }),
    );
    expectRefused(await refusal(root), /outside the app repository/);
  });

  it('refuses a generator file outside the root', async () => {
    const root = checkout(
      'configMapGenerator:\n  - name: leak\n    files: ["token=../../outside/secret.env"]\n',
    );
    expectRefused(await refusal(root), /outside the app repository/);
    const envs = checkout('secretGenerator:\n  - name: leak\n    envs: ["../../outside/secret.env"]\n');
    expectRefused(await refusal(envs), /outside the app repository/);
  });

  it('still renders a well-behaved overlay, with an inline patch', async () => {
    const root = checkout(
      'resources: [cm.yaml]\npatches:\n  - patch: |-\n      apiVersion: v1\n      kind: ConfigMap\n      metadata:\n        name: ok\n      data:\n        extra: "1"\n',
    );
    const rendered = await renderManifests({ checkoutDir: root, source: { kustomize: 'deploy' } });
    expect(rendered.files.map((f) => f.name)).toEqual(['configmap-ok.yaml']);
    expect(rendered.files[0]!.content).toContain('extra: "1"');
  });
});
