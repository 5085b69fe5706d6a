import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../../src/pipeline/parse-pipeline-config.js';
import type { PipelineConfig } from '../../../src/pipeline/schema.js';
import { hostMatches, mergeEffectiveSettings } from '../../../src/policy/effective-settings.js';
import { examplePolicy } from './policy-fixtures.js';

const PIPELINE_TEXT = readFileSync(new URL('../pipeline/examples/shipgate.yml', import.meta.url), 'utf8');

function pipeline(text = PIPELINE_TEXT): PipelineConfig {
  const result = parsePipelineConfig(text);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

const policy = examplePolicy();

function settingsFor(repo: string, config = pipeline()) {
  const result = mergeEffectiveSettings(config, policy, repo);
  if (!result.allowed) throw new Error(result.reason);
  return result.settings;
}

describe('mergeEffectiveSettings', () => {
  it('combines the documented files: pipeline order, policy targets and approvals', () => {
    const s = settingsFor('acme/web-shop');
    expect(s.app).toBe('web-shop');
    expect(s.dropped).toEqual([]);
    expect(s.releaseTagPattern).toBe('v*');
    expect(s.forkPullRequests).toBe('none');
    expect(s.scan.zap.target).toBe('https://pr.web-shop.preview.acme.dev');
    expect(
      s.environments.map((e) => [e.name, e.target.path, e.target.namespace, e.approval.required]),
    ).toEqual([
      ['staging', 'apps/web-shop/staging', 'staging', false],
      ['production', 'apps/web-shop/production', 'production', true],
    ]);
    expect(s.environments[1]!.manifests).toEqual({ kind: 'kustomize', path: 'deploy/overlays/production' });
    expect(s.environments[1]!.zap).toEqual({ path: '/shop' });
    expect(s.environments[1]!.target).not.toHaveProperty('allowed');
  });

  it('gives a repo outside the allowlist nothing at all', () => {
    expect(mergeEffectiveSettings(pipeline(), policy, 'acme/sandbox-bob')).toEqual({
      allowed: false,
      reason: 'acme/sandbox-bob is denied by "!acme/sandbox-*" (repos.allow[1])',
    });
    expect(mergeEffectiveSettings(pipeline(), policy, 'evil/web-shop').allowed).toBe(false);
  });

  it('keeps checks but drops every environment of an allowed repo without a grant', () => {
    const s = settingsFor('acme/docs');
    expect(s.environments).toEqual([]);
    expect(s.dropped).toEqual([
      { setting: 'environments[0]', reason: 'acme/docs has no deploy grant in the policy; only checks run' },
      { setting: 'environments[1]', reason: 'acme/docs has no deploy grant in the policy; only checks run' },
    ]);
    expect(s.test.command).toEqual(['sh', '-c', 'npm ci && npm test']);
  });

  it('refuses an environment the repo is not granted (widening attempt)', () => {
    // billing is granted staging only; its pipeline asks for production too.
    const config = pipeline(PIPELINE_TEXT.replace('app: web-shop', 'app: billing'));
    const s = settingsFor('acme/billing', config);
    expect(s.environments.map((e) => e.name)).toEqual(['staging']);
    expect(s.environments[0]!.target).toMatchObject({
      path: 'apps/billing/staging',
      namespace: 'billing-staging',
    });
    expect(s.dropped).toEqual([
      {
        setting: 'environments[1]',
        reason: 'acme/billing is not granted the environment "production" (granted: staging)',
      },
    ]);
  });

  it("refuses to deploy under another app's name (widening attempt)", () => {
    // acme/web-shop claims to be billing, hoping to write billing's folders.
    const config = pipeline(PIPELINE_TEXT.replace('app: web-shop', 'app: billing'));
    const s = settingsFor('acme/web-shop', config);
    expect(s.app).toBe('web-shop');
    expect(s.environments).toEqual([]);
    expect(s.dropped[0]!.reason).toBe(
      '.shipgate.yml names the app "billing", but the policy grants acme/web-shop the app "web-shop"',
    );
  });

  it('never takes paths, namespaces or approvals from the pipeline', () => {
    // Whatever the pipeline says about its manifests, the target comes from the grant.
    const config = pipeline(PIPELINE_TEXT.replace('deploy/overlays/production', 'apps/billing/staging'));
    const production = settingsFor('acme/web-shop', config).environments[1]!;
    expect(production.manifests.path).toBe('apps/billing/staging'); // a source folder in the app repo
    expect(production.target.path).toBe('apps/web-shop/production');
    expect(production.approval).toMatchObject({ required: true, count: 2, releaserMayApprove: false });
  });

  it('drops a pull-request ZAP target whose host the policy does not allow', () => {
    const config = pipeline(
      PIPELINE_TEXT.replace(
        'https://pr.web-shop.preview.acme.dev',
        'http://169.254.169.254/latest/meta-data',
      ),
    );
    const s = settingsFor('acme/web-shop', config);
    expect(s.scan.zap.target).toBeUndefined();
    expect(s.scan.zap.failThreshold).toBe('Medium');
    expect(s.dropped).toEqual([
      {
        setting: 'scan.zap.target',
        reason:
          'the policy does not allow ZAP scans of 169.254.169.254 (zap.pullRequestTargetHosts); pull requests get no ZAP scan',
      },
    ]);
  });
});

describe('hostMatches', () => {
  it('matches subdomains for "*." and exact names otherwise', () => {
    expect(hostMatches('*.preview.acme.dev', 'pr-1.preview.acme.dev')).toBe(true);
    expect(hostMatches('*.preview.acme.dev', 'a.b.preview.acme.dev')).toBe(true);
    expect(hostMatches('*.preview.acme.dev', 'preview.acme.dev')).toBe(false);
    expect(hostMatches('*.preview.acme.dev', 'evilpreview.acme.dev')).toBe(false);
    expect(hostMatches('*.preview.acme.dev', 'preview.acme.dev.evil.com')).toBe(false);
    expect(hostMatches('app.acme.dev', 'app.acme.dev')).toBe(true);
    expect(hostMatches('app.acme.dev', 'x.app.acme.dev')).toBe(false);
  });
});
