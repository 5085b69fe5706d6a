/**
 * Offline validation of the Argo CD and Argo Rollouts objects users copy from `argocd/`
 * (and that the lead may run over rendered manifests):
 * - Application, ApplicationSet, AppProject: Argo CD's swagger definitions, converted for ajv
 *   (schemas/argocd/argocd-resources.schema.json, see its PROVENANCE.md);
 * - Rollout: the Rollout CRD's openAPIV3Schema (the gitops writer's validators, schemas/crds);
 * - AnalysisTemplate and ClusterAnalysisTemplate: the AnalysisRun CRD's `spec` schema, since
 *   a template's spec has the same metrics and args shapes as a run's;
 * - Service and Deployment (the rolling strategy's workload): kubernetes-models.
 * Objects are closed (unknown fields are errors) as with `kubectl apply --validate=strict`,
 * except the kubernetes-models kinds, whose schemas check types and required fields only.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Service } from 'kubernetes-models/v1';
import analysisTemplateSpec from '../../schemas/argocd/analysis-template-spec.schema.json' with { type: 'json' };
import argocdResources from '../../schemas/argocd/argocd-resources.schema.json' with { type: 'json' };
import { crdValidators } from '../gitops/crd-schemas.js';

type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

function closeObjects(schema: unknown): void {
  if (schema === null || typeof schema !== 'object') return;
  if (Array.isArray(schema)) return schema.forEach(closeObjects);
  const s = schema as Record<string, unknown>;
  if (
    s.properties !== undefined &&
    s.additionalProperties === undefined &&
    s['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    s.additionalProperties = false;
  }
  Object.values(s).forEach(closeObjects);
}

let compiled: Map<string, ValidateFunction> | undefined;

function validators(): Map<string, ValidateFunction> {
  if (compiled) return compiled;
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  addFormats(ajv);
  ajv.addSchema(argocdResources, 'argocd');
  const templateSpec = structuredClone(analysisTemplateSpec) as Record<string, unknown>;
  closeObjects(templateSpec);
  const template = (kind: string) => ({
    type: 'object',
    required: ['apiVersion', 'kind', 'metadata', 'spec'],
    additionalProperties: false,
    properties: {
      apiVersion: { const: 'argoproj.io/v1alpha1' },
      kind: { const: kind },
      metadata: { type: 'object', required: ['name'] },
      spec: templateSpec,
    },
  });
  compiled = new Map<string, ValidateFunction>([
    ['Application', ajv.getSchema('argocd#/definitions/Application')!],
    ['ApplicationSet', ajv.getSchema('argocd#/definitions/ApplicationSet')!],
    ['AppProject', ajv.getSchema('argocd#/definitions/AppProject')!],
    ['AnalysisTemplate', ajv.compile(template('AnalysisTemplate'))],
    ['ClusterAnalysisTemplate', ajv.compile(template('ClusterAnalysisTemplate'))],
  ]);
  return compiled;
}

/** Compiles the validators now (a worker does so before it takes jobs; see start-workers). */
export function warmArgoCdValidators(): void {
  validators();
}

function describe(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const where = e.instancePath || '/';
    if (e.keyword === 'additionalProperties') {
      return `${where}: unknown field ${JSON.stringify((e.params as { additionalProperty: string }).additionalProperty)}`;
    }
    return `${where}: ${e.message ?? e.keyword}`;
  });
}

/** The supported kinds; anything else is reported as unsupported rather than passed. */
export const VALIDATED_KINDS = [
  'Application',
  'ApplicationSet',
  'AppProject',
  'Rollout',
  'AnalysisTemplate',
  'ClusterAnalysisTemplate',
  'Service',
  'Deployment',
] as const;

/** Problems with one object, as `path: message` lines; empty when valid. */
export function validateArgoCdResource(object: unknown): string[] {
  if (object === null || typeof object !== 'object') return ['/: not an object'];
  const { apiVersion, kind } = object as { apiVersion?: unknown; kind?: unknown };
  if (kind === 'Service') {
    if (apiVersion !== 'v1') return [`/apiVersion: Service must be v1`];
    try {
      new Service(object as ConstructorParameters<typeof Service>[0]).validate();
      return [];
    } catch (err) {
      return [`/: ${(err as Error).message}`];
    }
  }
  if (kind === 'Deployment') {
    if (apiVersion !== 'apps/v1') return [`/apiVersion: Deployment must be apps/v1`];
    try {
      new Deployment(object as ConstructorParameters<typeof Deployment>[0]).validate();
      return [];
    } catch (err) {
      return [`/: ${(err as Error).message}`];
    }
  }
  if (kind === 'Rollout') {
    const version = typeof apiVersion === 'string' ? apiVersion.split('/')[1] : undefined;
    const validate = version ? crdValidators().get('argoproj.io/Rollout')?.versions.get(version) : undefined;
    if (apiVersion !== 'argoproj.io/v1alpha1' || !validate)
      return ['/apiVersion: Rollout must be argoproj.io/v1alpha1'];
    return validate(object) ? [] : describe(validate.errors);
  }
  const validate = typeof kind === 'string' ? validators().get(kind) : undefined;
  if (!validate) return [`/kind: ${String(kind)} is not one of ${VALIDATED_KINDS.join(', ')}`];
  return validate(object) ? [] : describe(validate.errors);
}
