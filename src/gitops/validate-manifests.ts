import { GitopsManifestsInvalid } from '../errors.js';
import { isClusterScopedKind } from './cluster-scoped-kinds.js';
import { crdValidators, type ErrorObject } from './crd-schemas.js';
import {
  findContainerImages,
  normalizeRepository,
  parseImageReference,
  pinnedReference,
} from './pin-image.js';
import type { EnvironmentTarget, ManifestDocument, ManifestIssue, ReleaseImage } from './types.js';

/**
 * Checks rendered objects before anything is written: schema validity (kubernetes-models for
 * built-in kinds, ajv over the Argo Rollouts CRDs) and the platform policy for the target
 * (namespace, cluster-scoped kinds, blue-green Rollouts, the released image). Every issue
 * names the output file, the document, the field and what was expected.
 */

export interface ValidateOptions {
  target: Pick<EnvironmentTarget, 'namespace' | 'allowClusterScoped' | 'requireBlueGreen'>;
  /** When set, the bundle must run this exact image (as pinned by the renderer). */
  image?: ReleaseImage;
  /** Kinds neither built in nor known CRDs: `warn` (default) or `error`. */
  unknownKinds?: 'warn' | 'error';
}

type Model = {
  apiVersion: string;
  kind: string;
  new (data: unknown): { validate(): void };
};

const SEGMENT = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;
const VERSION = /^v[0-9]+((alpha|beta)[0-9]+)?$/;
const KIND = /^[A-Z][A-Za-z0-9]*$/;

const modelCache = new Map<string, Promise<Model | undefined>>();

/** The kubernetes-models class for a built-in apiVersion/kind, or undefined. */
async function builtinModel(apiVersion: string, kind: string): Promise<Model | undefined> {
  const key = `${apiVersion}/${kind}`;
  let found = modelCache.get(key);
  if (!found) {
    found = (async () => {
      const parts = apiVersion.split('/');
      const [group, version] = parts.length === 1 ? ['', parts[0]!] : [parts[0]!, parts[1]!];
      // The specifier is built from object fields, so only plain names get near `import()`.
      if (parts.length > 2 || !VERSION.test(version) || !KIND.test(kind) || (group && !SEGMENT.test(group))) {
        return undefined;
      }
      const dir = group === '' ? version : `${group}/${version}`;
      try {
        // Resolved by Node at run time; @vite-ignore keeps vitest from pre-analysing the pattern.
        const specifier = `kubernetes-models/${dir}/${kind}`;
        const mod = (await import(/* @vite-ignore */ specifier)) as Record<string, unknown>;
        const model = mod[kind] as Model | undefined;
        // Sub-objects (DeploymentSpec…) are exported too; only top-level kinds carry apiVersion.
        return model && model.apiVersion === apiVersion && model.kind === kind ? model : undefined;
      } catch {
        return undefined;
      }
    })();
    modelCache.set(key, found);
  }
  return found;
}

function fieldOf(instancePath: string): (string | number)[] {
  if (instancePath === '') return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function formatField(fieldPath: readonly (string | number)[]): string {
  let out = '';
  for (const part of fieldPath) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

function describeAjvError(e: ErrorObject): {
  field: (string | number)[];
  message: string;
  expected?: string;
} {
  const field = fieldOf(e.instancePath);
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') {
    return {
      field: [...field, String(params.additionalProperty)],
      message: `unknown field ${JSON.stringify(params.additionalProperty)}`,
      expected: 'a field defined by the schema',
    };
  }
  if (e.keyword === 'required') {
    return {
      field: [...field, String(params.missingProperty)],
      message: `required field ${JSON.stringify(params.missingProperty)} is missing`,
      expected: 'the field to be set',
    };
  }
  if (e.keyword === 'type')
    return { field, message: e.message ?? 'wrong type', expected: String(params.type) };
  if (e.keyword === 'enum') {
    return {
      field,
      message: e.message ?? 'not allowed',
      expected: `one of ${JSON.stringify(params.allowedValues)}`,
    };
  }
  return { field, message: e.message ?? e.keyword };
}

/** Drops ajv's noise: `anyOf` wrappers whose branches already said what was wrong. */
function relevantErrors(errors: readonly ErrorObject[]): ErrorObject[] {
  return errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'oneOf' && e.keyword !== 'if');
}

export async function validateManifests(
  documents: readonly ManifestDocument[],
  options: ValidateOptions,
): Promise<ManifestIssue[]> {
  const issues: ManifestIssue[] = [];
  const { target } = options;
  const allowed = new Set(target.allowClusterScoped ?? []);
  // '*' is how a policy that allows cluster-scoped resources says "any kind".
  const allowAnyClusterScoped = allowed.has('*');
  const identities = new Map<string, string>();
  let releaseContainers = 0;

  for (const doc of documents) {
    const file = doc.outputFile ?? doc.sourceFile;
    const add = (
      severity: ManifestIssue['severity'],
      fieldPath: readonly (string | number)[],
      message: string,
      expected?: string,
    ) => {
      const pos = doc.locate?.(fieldPath) ?? doc.locate?.(fieldPath.slice(0, -1));
      issues.push({
        severity,
        file,
        sourceFile: doc.sourceFile,
        documentIndex: doc.documentIndex,
        field: formatField(fieldPath),
        message,
        ...(expected !== undefined ? { expected } : {}),
        ...(pos ? { line: pos.line, column: pos.column } : doc.sourceLine ? { line: doc.sourceLine } : {}),
      });
    };
    const o = doc.object;
    const { apiVersion, kind } = o;
    const metadata = o.metadata as Record<string, unknown> | undefined;
    if (typeof apiVersion !== 'string' || apiVersion === '') {
      add('error', ['apiVersion'], 'apiVersion is missing', 'a string such as apps/v1');
      continue;
    }
    if (typeof kind !== 'string' || !KIND.test(kind)) {
      add('error', ['kind'], 'kind is missing or malformed', 'a kind such as Deployment');
      continue;
    }
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
      add('error', ['metadata'], 'metadata is missing', 'an object with a name');
      continue;
    }
    if (typeof metadata.name !== 'string' || metadata.name === '') {
      add('error', ['metadata', 'name'], 'metadata.name is missing', 'a non-empty name');
      continue;
    }
    const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';

    // ── schema ──
    const model = await builtinModel(apiVersion, kind);
    const crd = crdValidators().get(`${group}/${kind}`);
    if (model) {
      try {
        new model(o).validate();
      } catch (err) {
        const errors = (err as { errors?: ErrorObject[] }).errors;
        if (!Array.isArray(errors)) add('error', [], `schema: ${(err as Error).message}`);
        else {
          for (const e of relevantErrors(errors)) {
            const d = describeAjvError(e);
            add('error', d.field, `${kind} schema: ${d.message}`, d.expected);
          }
        }
      }
    } else if (crd) {
      const version = apiVersion.split('/')[1] ?? '';
      const validate = crd.versions.get(version);
      if (!validate) {
        add(
          'error',
          ['apiVersion'],
          `${kind} has no served version ${JSON.stringify(version)}`,
          [...crd.versions.keys()].map((v) => `${group}/${v}`).join(' or '),
        );
      } else if (!validate(o)) {
        for (const e of relevantErrors(validate.errors ?? [])) {
          const d = describeAjvError(e);
          add('error', d.field, `${kind} schema: ${d.message}`, d.expected);
        }
      }
    } else {
      add(
        options.unknownKinds === 'error' ? 'error' : 'warning',
        ['kind'],
        `${apiVersion} ${kind} is not a built-in kind or a known CRD, so its schema was not checked`,
      );
    }

    // ── policy: scope and namespace ──
    if (isClusterScopedKind(kind)) {
      if (!allowAnyClusterScoped && !allowed.has(kind)) {
        add(
          'error',
          ['kind'],
          `${kind} is cluster-scoped, and the policy does not allow cluster-scoped kinds for this environment`,
          allowed.size > 0 ? `a namespaced kind or one of ${[...allowed].join(', ')}` : 'a namespaced kind',
        );
      }
    } else if (metadata.namespace !== target.namespace) {
      add(
        'error',
        ['metadata', 'namespace'],
        `namespace ${JSON.stringify(metadata.namespace)} is not this environment's`,
        target.namespace,
      );
    }
    const identity = `${group}/${kind}/${String(metadata.namespace ?? '')}/${metadata.name}`;
    const previous = identities.get(identity);
    if (previous !== undefined) {
      add(
        'error',
        ['metadata', 'name'],
        `duplicate ${kind} ${metadata.name} (also in ${previous})`,
        'unique names per kind',
      );
    } else identities.set(identity, file);

    // ── policy: blue-green ──
    if (kind === 'Rollout' && group === 'argoproj.io' && target.requireBlueGreen) {
      const strategy = (o.spec as Record<string, unknown> | undefined)?.strategy as
        Record<string, unknown> | undefined;
      const blueGreen = strategy?.blueGreen as Record<string, unknown> | undefined;
      if (!blueGreen || typeof blueGreen !== 'object') {
        add(
          'error',
          ['spec', 'strategy', 'blueGreen'],
          'this environment requires a blueGreen Rollout',
          'spec.strategy.blueGreen',
        );
      } else {
        for (const key of ['activeService', 'previewService']) {
          if (typeof blueGreen[key] !== 'string' || blueGreen[key] === '') {
            add(
              'error',
              ['spec', 'strategy', 'blueGreen', key],
              `blueGreen.${key} is missing`,
              `the name of the ${key === 'activeService' ? 'active' : 'preview'} Service`,
            );
          }
        }
      }
    }

    // ── policy: image ──
    if (options.image) {
      const want = normalizeRepository(options.image.repository);
      const pinned = pinnedReference(options.image);
      for (const field of findContainerImages(o)) {
        const ref = parseImageReference(field.image);
        if (normalizeRepository(ref.repository) !== want) continue;
        releaseContainers++;
        if (field.image !== pinned)
          add('error', field.path, `image ${field.image} is not the released image`, pinned);
      }
    }
  }

  if (options.image && releaseContainers === 0 && documents.length > 0) {
    const first = documents[0]!;
    issues.push({
      severity: 'error',
      file: first.outputFile ?? first.sourceFile,
      sourceFile: first.sourceFile,
      documentIndex: first.documentIndex,
      field: '',
      message: `no container runs the released image repository ${options.image.repository}`,
      expected: `a container with image ${options.image.repository}[:tag|@digest]`,
    });
  }
  return issues;
}

/** Throws SHIPGATE_E_GITOPS_MANIFESTS_INVALID (details.issues) when any issue is an error. */
export function assertNoErrors(issues: readonly ManifestIssue[]): void {
  const errors = issues.filter((i) => i.severity === 'error');
  if (errors.length === 0) return;
  throw GitopsManifestsInvalid(errors.length, formatIssue(errors[0]!), { details: { issues: errors } });
}

/** `rollout-api.yaml (document 0) spec.strategy.blueGreen.activeService: … (expected …)` */
export function formatIssue(issue: ManifestIssue): string {
  const where = `${issue.file} (document ${issue.documentIndex}${issue.line ? `, line ${issue.line}` : ''})`;
  const field = issue.field ? ` ${issue.field}` : '';
  const expected = issue.expected ? ` (expected ${issue.expected})` : '';
  return `${where}${field}: ${issue.message}${expected}`;
}
