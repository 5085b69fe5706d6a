/**
 * Validates a Kubernetes object against real schemas: core kinds with kubernetes-models,
 * CRDs with the kubernetes-models packages generated from their upstream CRDs (Prometheus
 * Operator, KEDA, External Secrets, Argo CD). Unknown kinds are an error, not a pass.
 */
const CRD_PACKAGES: Record<string, string> = {
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
  'keda.sh': '@kubernetes-models/keda',
  'external-secrets.io': '@kubernetes-models/external-secrets',
  'argoproj.io': '@kubernetes-models/argo-cd',
};

export interface K8sObjectLike {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown };
}

export async function validateK8sObject(obj: K8sObjectLike): Promise<void> {
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
    throw new Error('object has no apiVersion/kind');
  }
  const [groupOrVersion, maybeVersion] = obj.apiVersion.split('/');
  const group = maybeVersion === undefined ? '' : groupOrVersion!;
  const pkg = CRD_PACKAGES[group] ?? 'kubernetes-models';
  const modulePath = `${pkg}/${obj.apiVersion}/${obj.kind}`;
  let mod: Record<string, new (data: unknown) => { validate(): void }>;
  try {
    mod = (await import(modulePath)) as typeof mod;
  } catch {
    throw new Error(`no schema for ${obj.apiVersion} ${obj.kind} (looked for ${modulePath})`);
  }
  const Model = mod[obj.kind];
  if (!Model) throw new Error(`${modulePath} exports no ${obj.kind}`);
  new Model(obj).validate();
}
