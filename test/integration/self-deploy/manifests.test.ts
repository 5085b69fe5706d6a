import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { validateK8sObject } from '../../support/validate-k8s-object.js';

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
}

const OVERLAYS = ['staging', 'production'];

function render(overlay: string): K8sObject[] {
  const out = execFileSync('kubectl', ['kustomize', `manifests/overlays/${overlay}`], { encoding: 'utf8' });
  return parseAllDocuments(out).map((doc) => {
    expect(doc.errors).toEqual([]);
    return doc.toJS() as K8sObject;
  });
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} not rendered`);
  return found;
}

type PodSpec = {
  automountServiceAccountToken?: boolean;
  securityContext: Record<string, unknown>;
  containers: {
    args: string[];
    securityContext: Record<string, unknown>;
    resources: { requests?: unknown; limits?: { memory?: string } };
    livenessProbe?: { httpGet: { path: string } };
    readinessProbe?: { httpGet: { path: string } };
  }[];
  topologySpreadConstraints?: unknown[];
};

describe.each(OVERLAYS)('manifests/overlays/%s', (overlay) => {
  const objects = render(overlay);

  it('renders only resources that validate against their schemas', async () => {
    expect(objects.length).toBeGreaterThan(15);
    for (const obj of objects) {
      await expect(validateK8sObject(obj), `${obj.kind}/${obj.metadata.name}`).resolves.toBeUndefined();
    }
  });

  it('runs serve and work as separate, locked-down Deployments with probes and resources', () => {
    for (const [name, command] of [
      ['shipgate-serve', 'serve'],
      ['shipgate-work', 'work'],
    ] as const) {
      const deployment = find(objects, 'Deployment', name);
      const pod = (deployment.spec as { template: { spec: PodSpec } }).template.spec;
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.topologySpreadConstraints?.length).toBeGreaterThan(0);
      const [container] = pod.containers;
      expect(container!.args).toEqual([command]);
      expect(container!.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(container!.resources.requests).toBeDefined();
      expect(container!.resources.limits?.memory).toBeDefined();
      expect(container!.livenessProbe?.httpGet.path).toBe('/livez');
      expect(container!.readinessProbe?.httpGet.path).toBe('/readyz');
    }
    const serve = find(objects, 'Deployment', 'shipgate-serve');
    expect((serve.spec as { template: { spec: PodSpec } }).template.spec.automountServiceAccountToken).toBe(
      false,
    );
  });

  it('exposes only the webhook and Slack endpoints, over TLS', () => {
    const ingress = find(objects, 'Ingress', 'shipgate');
    const spec = ingress.spec as {
      tls: { hosts: string[] }[];
      rules: { host: string; http: { paths: { path: string }[] } }[];
    };
    expect(spec.tls[0]!.hosts).toEqual([spec.rules[0]!.host]);
    expect(spec.rules.flatMap((r) => r.http.paths.map((p) => p.path)).sort()).toEqual([
      '/slack/interactions',
      '/webhooks/github',
    ]);
  });

  it('grants least privilege: gate Jobs in the gates namespace only, Rollouts read-only', () => {
    const role = find(objects, 'Role', 'shipgate-gate-runner');
    expect(role.metadata.namespace).toBe('shipgate-gates');
    const rules = (role as unknown as { rules: { resources: string[]; verbs: string[] }[] }).rules;
    const verbsFor = (resource: string) => rules.find((r) => r.resources.includes(resource))?.verbs ?? [];
    expect(verbsFor('jobs').sort()).toEqual(['create', 'delete', 'get', 'list', 'watch']);
    expect(verbsFor('secrets').sort()).toEqual(['create', 'delete', 'get']);
    expect(verbsFor('pods/log')).toEqual(['get']);
    for (const r of rules) expect(r.verbs).not.toContain('*');

    const reader = find(objects, 'ClusterRole', 'shipgate-rollout-reader');
    const readerRules = (reader as unknown as { rules: { verbs: string[] }[] }).rules;
    for (const r of readerRules) expect(r.verbs.sort()).toEqual(['get', 'list', 'watch']);
    // Cluster-wide only as a definition: nothing binds it cluster-wide.
    expect(objects.filter((o) => o.kind === 'ClusterRoleBinding')).toEqual([]);
    expect(
      objects.some((o) => o.kind === 'RoleBinding' && o.metadata.name === 'shipgate-rollout-reader'),
    ).toBe(true);
  });

  it('keeps secret values out of git', () => {
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
    const external = find(objects, 'ExternalSecret', 'shipgate-secrets');
    const keys = (external.spec as { data: { secretKey: string }[] }).data.map((d) => d.secretKey);
    for (const key of [
      'GITHUB_PRIVATE_KEY',
      'GITHUB_WEBHOOK_SECRET',
      'SLACK_SIGNING_SECRET',
      'ARGOCD_TOKEN',
      'REDIS_URL',
    ]) {
      expect(keys).toContain(key);
    }
  });

  it('has scaling, disruption budgets, network policy and monitoring', () => {
    expect(find(objects, 'HorizontalPodAutoscaler', 'shipgate-serve')).toBeDefined();
    expect(objects.filter((o) => o.kind === 'PodDisruptionBudget')).toHaveLength(2);
    const deny = find(objects, 'NetworkPolicy', 'default-deny');
    expect((deny.spec as { policyTypes: string[] }).policyTypes).toEqual(['Ingress', 'Egress']);
    expect(find(objects, 'ServiceMonitor', 'shipgate')).toBeDefined();
    const dashboard = find(objects, 'ConfigMap', 'shipgate-grafana-dashboard');
    const json = JSON.parse(
      (dashboard as unknown as { data: Record<string, string> }).data['shipgate-dashboard.json']!,
    );
    expect(json.panels.map((p: { title: string }) => p.title)).toEqual(
      expect.arrayContaining(['Webhook requests by outcome', 'Webhook latency', 'Queue depth', 'Rollbacks']),
    );
  });

  it('ships alert rules that promtool accepts', () => {
    const rule = find(objects, 'PrometheusRule', 'shipgate');
    const dir = mkdtempSync(path.join(tmpdir(), 'promtool-'));
    try {
      const file = path.join(dir, 'rules.yaml');
      writeFileSync(file, stringify(rule.spec));
      const out = execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      expect(out).toMatch(/SUCCESS: \d+ rules found/);
      const alerts = (rule.spec as { groups: { rules: { alert: string }[] }[] }).groups.flatMap((g) =>
        g.rules.map((r) => r.alert),
      );
      expect(alerts).toEqual(
        expect.arrayContaining([
          'ShipgateWebhookFailures',
          'ShipgateQueueBacklog',
          'ShipgateStalledJobs',
          'ShipgateRollback',
          'ShipgateRedisDown',
        ]),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('argocd/shipgate-application.yaml', () => {
  it('is a valid Argo CD Application that deploys Shipgate from manifests/', async () => {
    const app = parseAllDocuments(
      readFileSync('argocd/shipgate-application.yaml', 'utf8'),
    )[0]!.toJS() as K8sObject;
    await validateK8sObject(app);
    const source = (app.spec as { source: { path: string } }).source;
    expect(source.path).toMatch(/^manifests\/overlays\//);
    expect(() => execFileSync('kubectl', ['kustomize', source.path])).not.toThrow();
  });
});
