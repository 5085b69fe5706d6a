import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { GitopsManifestsInvalid, GitopsRenderTimeout, type ShipgateError } from '../../../src/errors.js';
import { prepareEnvironment } from '../../../src/gitops/prepare-environment.js';
import { findKustomizeCommand, renderManifests } from '../../../src/gitops/render-manifests.js';
import type { ManifestIssue } from '../../../src/gitops/types.js';
import { validateManifests } from '../../../src/gitops/validate-manifests.js';

const APPS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures/apps');
const DIGEST = `sha256:${'c'.repeat(64)}`;

describe('renderManifests with real kustomize', () => {
  it('finds a real kustomize on PATH', async () => {
    const [binary, ...args] = await findKustomizeCommand();
    expect(path.basename(binary!)).toMatch(/^(kustomize|kubectl)$/);
    expect(args).toEqual(path.basename(binary!) === 'kubectl' ? ['kustomize'] : ['build']);
  });

  it('renders each overlay, pins only the release image, one file per resource', async () => {
    for (const [env, replicas, logLevel] of [
      ['staging', 2, 'debug'],
      ['production', 4, 'info'],
    ] as const) {
      const prepared = await prepareEnvironment({
        checkoutDir: path.join(APPS, 'web'),
        source: { kustomize: `deploy/overlays/${env}` },
        target: { app: 'web', env, path: `apps/web/${env}`, namespace: `web-${env}`, requireBlueGreen: true },
        image: { repository: 'ghcr.io/acme/web', tag: '1.4.0', digest: DIGEST },
      });
      expect(prepared.files.map((f) => f.name)).toEqual([
        'configmap-web-config.yaml',
        'rollout-web.yaml',
        'service-web-active.yaml',
        'service-web-preview.yaml',
      ]);
      expect(prepared.pinnedImages).toBe(1);
      expect(prepared.warnings).toEqual([]);
      const rollout = parse(prepared.files.find((f) => f.name === 'rollout-web.yaml')!.content);
      expect(rollout.metadata.namespace).toBe(`web-${env}`);
      expect(rollout.spec.replicas).toBe(replicas);
      expect(rollout.spec.template.spec.containers.map((c: { image: string }) => c.image)).toEqual([
        `ghcr.io/acme/web@${DIGEST}`,
        'docker.io/envoyproxy/envoy:v1.30.1',
      ]);
      expect(rollout.spec.strategy.blueGreen).toMatchObject({
        activeService: 'web-active',
        previewService: 'web-preview',
      });
      const config = parse(prepared.files[0]!.content);
      expect(config.data.LOG_LEVEL).toBe(logLevel);
    }
  });

  it('is deterministic: the same input renders byte-identical files', async () => {
    const render = () =>
      renderManifests({
        checkoutDir: path.join(APPS, 'web'),
        source: { kustomize: 'deploy/overlays/production' },
        image: { repository: 'ghcr.io/acme/web', tag: '1.4.0' },
        namespace: 'web-production',
      });
    const [a, b] = [await render(), await render()];
    expect(a.files).toEqual(b.files);
    expect(a.files.find((f) => f.name === 'rollout-web.yaml')!.content).toContain(
      'image: ghcr.io/acme/web:1.4.0\n',
    );
  });

  it('renders a plain YAML folder, fills the namespace and pins init and CronJob containers', async () => {
    const prepared = await prepareEnvironment({
      checkoutDir: path.join(APPS, 'api'),
      source: { directory: 'manifests/staging' },
      target: { app: 'api', env: 'staging', path: 'apps/api/staging', namespace: 'api-staging' },
      image: { repository: 'ghcr.io/acme/api', tag: '2.0.0' },
    });
    expect(prepared.files.map((f) => f.name)).toEqual([
      'cronjob-api-cleanup.yaml',
      'deployment-api.yaml',
      'service-api.yaml',
    ]);
    expect(prepared.pinnedImages).toBe(3);
    const deployment = parse(prepared.files[1]!.content);
    expect(deployment.metadata.namespace).toBe('api-staging');
    expect(deployment.spec.template.spec.initContainers[0].image).toBe('ghcr.io/acme/api:2.0.0');
  });
});

describe('renderer limits', () => {
  it('kills a renderer that hangs and says so (retryable)', async () => {
    const started = Date.now();
    const err = (await renderManifests({
      checkoutDir: path.join(APPS, 'web'),
      source: { kustomize: 'deploy/overlays/staging' },
      kustomizeCommand: [process.execPath, '-e', 'setTimeout(() => {}, 60_000)'],
      limits: { timeoutMs: 300 },
    }).catch((e: unknown) => e)) as ShipgateError;
    expect(GitopsRenderTimeout.is(err)).toBe(true);
    expect(err.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('validation errors name the file, document, field and expectation', () => {
  const check = async (dir: string, extra: Partial<{ requireBlueGreen: boolean }> = {}) => {
    const rendered = await renderManifests({
      checkoutDir: APPS,
      source: { directory: `invalid/${dir}` },
      namespace: 'apps',
    });
    return validateManifests(rendered.documents, {
      target: { namespace: 'apps', requireBlueGreen: true, ...extra },
    });
  };
  const errors = (issues: ManifestIssue[]) => issues.filter((i) => i.severity === 'error');

  it('a Rollout without activeService', async () => {
    const issues = errors(await check('broken-rollout'));
    expect(issues).toContainEqual(
      expect.objectContaining({
        file: 'rollout-web.yaml',
        sourceFile: 'invalid/broken-rollout/rollout.yaml',
        documentIndex: 0,
        field: 'spec.strategy.blueGreen.activeService',
        expected: 'the name of the active Service',
      }),
    );
    // The CRD schema says so too (ajv over openAPIV3Schema).
    expect(issues.some((i) => i.message.startsWith('Rollout schema: required field "activeService"'))).toBe(
      true,
    );
    expect(issues.every((i) => i.line === 18)).toBe(true);
  });

  it('a wrong namespace', async () => {
    expect(errors(await check('wrong-namespace'))).toEqual([
      expect.objectContaining({
        file: 'configmap-settings.yaml',
        field: 'metadata.namespace',
        expected: 'apps',
        line: 5,
      }),
    ]);
  });

  it('a cluster-scoped kind, unless the policy allows it', async () => {
    expect(errors(await check('cluster-scoped'))).toEqual([
      expect.objectContaining({
        file: 'clusterrole-everything.yaml',
        field: 'kind',
        expected: 'a namespaced kind',
      }),
    ]);
    const rendered = await renderManifests({
      checkoutDir: APPS,
      source: { directory: 'invalid/cluster-scoped' },
    });
    const allowed = await validateManifests(rendered.documents, {
      target: { namespace: 'apps', allowClusterScoped: ['ClusterRole'] },
    });
    expect(errors(allowed)).toEqual([]);
  });

  it('an invalid field type', async () => {
    expect(errors(await check('bad-field-type'))).toEqual([
      expect.objectContaining({
        file: 'deployment-web.yaml',
        field: 'spec.replicas',
        expected: 'integer',
        line: 7,
      }),
    ]);
  });

  it('a typo in a Rollout field is an unknown field, not silently pruned', async () => {
    const rendered = await renderManifests({
      checkoutDir: APPS,
      source: { directory: 'invalid/broken-rollout' },
    });
    const rollout = rendered.documents[0]!.object as {
      spec: { strategy: { blueGreen: Record<string, unknown> } };
    };
    rollout.spec.strategy.blueGreen.activeServce = 'web-active';
    const issues = errors(await validateManifests(rendered.documents, { target: { namespace: 'apps' } }));
    expect(issues).toContainEqual(
      expect.objectContaining({
        field: 'spec.strategy.blueGreen.activeServce',
        message: 'Rollout schema: unknown field "activeServce"',
      }),
    );
  });

  it('the release image must be the one in the workloads', async () => {
    const err = (await prepareEnvironment({
      checkoutDir: path.join(APPS, 'web'),
      source: { kustomize: 'deploy/overlays/staging' },
      target: { app: 'web', env: 'staging', path: 'apps/web/staging', namespace: 'web-staging' },
      image: { repository: 'ghcr.io/acme/not-web', tag: '1.0.0' },
    }).catch((e: unknown) => e)) as ShipgateError;
    expect(GitopsManifestsInvalid.is(err)).toBe(true);
    expect(err.message).toMatch(/no container runs the released image repository ghcr.io\/acme\/not-web/);
  });
});
