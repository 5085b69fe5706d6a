/**
 * The examples in argocd/ are what users copy, so they are validated like code: each object
 * against its schema (swagger definitions for Argo CD kinds, the Rollout CRD, the AnalysisRun
 * CRD's spec for AnalysisTemplates, kubernetes-models for Services and Deployments), and the cross-references
 * a schema cannot see (Service names, selectors, template names and args, project rules).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { validateArgoCdResource } from '../../../src/argocd/validate-argocd-resource.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../argocd');

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return yamlFiles(full);
    // shipgate-*.yaml deploys Shipgate itself and belongs to the lead's self-deploy tests.
    return /\.ya?ml$/.test(name) && !name.startsWith('shipgate-') ? [full] : [];
  });
}

const docs: { file: string; obj: Obj }[] = yamlFiles(root).flatMap((file) =>
  parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]!.message}`);
    return { file: path.relative(root, file), obj: d.toJS() as Obj };
  }),
);
const ofKind = (kind: string) => docs.filter((d) => d.obj.kind === kind).map((d) => d.obj);

describe('argocd/ examples', () => {
  it('holds every kind the docs promise', () => {
    expect(new Set(docs.map((d) => d.obj.kind))).toEqual(
      new Set([
        'AppProject',
        'Application',
        'ApplicationSet',
        'Rollout',
        'Service',
        'AnalysisTemplate',
        'Deployment',
      ]),
    );
  });

  it.each(docs.map((d) => [`${d.file} ${d.obj.kind}/${d.obj.metadata?.name}`, d.obj]))(
    '%s validates',
    (_, obj) => {
      expect(validateArgoCdResource(obj)).toEqual([]);
    },
  );

  it('the blue-green Rollout: both Services exist and select its pods; production-safe settings', () => {
    const [rollout] = ofKind('Rollout');
    const bg = rollout!.spec.strategy.blueGreen;
    expect(bg.autoPromotionEnabled).toBe(false);
    expect(bg.abortScaleDownDelaySeconds).toBeGreaterThan(0);
    const services = new Map(ofKind('Service').map((s) => [s.metadata.name, s]));
    for (const name of [bg.activeService, bg.previewService]) {
      const svc = services.get(name);
      expect(svc, name).toBeDefined();
      for (const [k, v] of Object.entries(svc!.spec.selector as Record<string, string>)) {
        expect(rollout!.spec.template.metadata.labels[k]).toBe(v);
      }
    }
    expect(rollout!.spec.selector.matchLabels).toEqual({ app: 'web' });
  });

  it('pre- and post-promotion analysis name existing templates and give every arg without a default', () => {
    const [rollout] = ofKind('Rollout');
    const templates = new Map(ofKind('AnalysisTemplate').map((t) => [t.metadata.name, t]));
    for (const stage of ['prePromotionAnalysis', 'postPromotionAnalysis']) {
      const analysis = rollout!.spec.strategy.blueGreen[stage];
      expect(analysis, stage).toBeDefined();
      const given = new Set((analysis.args ?? []).map((a: Obj) => a.name));
      for (const ref of analysis.templates) {
        const template = templates.get(ref.templateName);
        expect(template, ref.templateName).toBeDefined();
        for (const arg of template!.spec.args ?? []) {
          if (arg.value === undefined)
            expect(given.has(arg.name), `${ref.templateName} arg ${arg.name}`).toBe(true);
        }
      }
    }
    const providers = ofKind('AnalysisTemplate').flatMap((t) =>
      t.spec.metrics.map((m: Obj) => Object.keys(m.provider)[0]),
    );
    expect(providers.sort()).toEqual(['prometheus', 'web']);
  });

  it('the rolling Deployment: its Service selects its pods; no capacity lost; the controller deadline comes first', () => {
    const [deployment] = ofKind('Deployment');
    expect(deployment!.spec.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
    // Below the deploy's own deadline (900 s by default), so the controller's condition decides.
    expect(deployment!.spec.progressDeadlineSeconds).toBeLessThan(900);
    const service = docs.find((d) => d.file.startsWith('rolling/') && d.obj.kind === 'Service')!.obj;
    for (const [k, v] of Object.entries(service.spec.selector as Record<string, string>)) {
      expect(deployment!.spec.template.metadata.labels[k]).toBe(v);
    }
    expect(deployment!.spec.selector.matchLabels).toEqual(deployment!.spec.template.metadata.labels);
  });

  it('Applications stay inside the AppProject; production does not auto-sync', () => {
    const [project] = ofKind('AppProject');
    const allowed = project!.spec.destinations.map((d: Obj) => `${d.server} ${d.namespace}`);
    for (const app of ofKind('Application')) {
      expect(app.spec.project).toBe(project!.metadata.name);
      expect(project!.spec.sourceRepos).toContain(app.spec.source.repoURL);
      expect(allowed).toContain(`${app.spec.destination.server} ${app.spec.destination.namespace}`);
    }
    const production = ofKind('Application').find((a) => a.metadata.name.endsWith('production'));
    expect(production!.spec.syncPolicy.automated).toBeUndefined();
    expect(project!.spec.clusterResourceWhitelist).toEqual([]);
    const actions = project!.spec.roles[0].policies.join('\n');
    for (const action of ['resume', 'abort', 'retry', 'promote-full']) {
      expect(actions).toContain(`action/argoproj.io/Rollout/${action}`);
    }
  });
});

describe('validateArgoCdResource catches mistakes', () => {
  const rollout = () => structuredClone(ofKind('Rollout')[0]!);

  it('a typo in the Rollout strategy (unknown field, as kubectl --validate=strict)', () => {
    const r = rollout();
    r.spec.strategy.blueGreen.activeSevice = r.spec.strategy.blueGreen.activeService;
    expect(validateArgoCdResource(r)).toContain('/spec/strategy/blueGreen: unknown field "activeSevice"');
  });

  it('a wrong type in the Rollout and in an AnalysisTemplate', () => {
    const r = rollout();
    r.spec.strategy.blueGreen.autoPromotionEnabled = 'no';
    expect(validateArgoCdResource(r)).toContain(
      '/spec/strategy/blueGreen/autoPromotionEnabled: must be boolean',
    );
    const t = structuredClone(ofKind('AnalysisTemplate')[0]!);
    t.spec.metrics[0].provider.prometheus = { ...t.spec.metrics[0].provider.prometheus, adress: 'x' };
    t.spec.metrics[0].provider.web = { ...t.spec.metrics[0].provider.web, urll: 'x' };
    expect(validateArgoCdResource(t).join('\n')).toMatch(/unknown field "(adress|urll)"/);
  });

  it('an Application without destination, an AppProject with a misspelt field', () => {
    const app = structuredClone(ofKind('Application')[0]!);
    delete app.spec.destination;
    expect(validateArgoCdResource(app)).toContain("/spec: must have required property 'destination'");
    const project = structuredClone(ofKind('AppProject')[0]!);
    project.spec.sourceRepo = project.spec.sourceRepos;
    expect(validateArgoCdResource(project).join('\n')).toContain('unknown field "sourceRepo"');
  });

  it('a Service with a bad port, and kinds it does not know', () => {
    const svc = structuredClone(ofKind('Service')[0]!);
    svc.spec.ports[0].port = 'eighty';
    expect(validateArgoCdResource(svc)).not.toEqual([]);
    expect(validateArgoCdResource({ apiVersion: 'v1', kind: 'Pod' })[0]).toMatch(/Pod is not one of/);
  });

  it('a Deployment with a wrong type or a wrong apiVersion', () => {
    const d = structuredClone(ofKind('Deployment')[0]!);
    d.spec.progressDeadlineSeconds = '300s';
    expect(validateArgoCdResource(d).join('\n')).toMatch(/progressDeadlineSeconds must be integer/);
    expect(validateArgoCdResource({ ...ofKind('Deployment')[0]!, apiVersion: 'extensions/v1beta1' })).toEqual(
      ['/apiVersion: Deployment must be apps/v1'],
    );
  });
});
