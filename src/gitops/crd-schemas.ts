import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';

/**
 * ajv validators for the Argo Rollouts CRDs shipped in `schemas/crds/` (see its PROVENANCE.md).
 * Compiled once, on first use: the two schemas are ~1 MB of YAML.
 *
 * Kubernetes prunes unknown fields of a structural schema silently, so a typo such as
 * `activeSevice` would be dropped and the Rollout would deploy without it. Shipgate instead
 * closes every object schema that lists `properties` (unless it preserves unknown fields),
 * the same answer as `kubectl apply --validate=strict`.
 */

const CRD_FILES = ['rollout-crd.yaml', 'analysis-run-crd.yaml'];

export interface CrdValidator {
  group: string;
  kind: string;
  versions: Map<string, ValidateFunction>;
}

type AddFormats = (ajv: Ajv) => Ajv;
const addFormats = ((addFormatsModule as unknown as { default?: AddFormats }).default ??
  addFormatsModule) as unknown as AddFormats;

function findCrdDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'schemas', 'crds');
    if (existsSync(path.join(candidate, CRD_FILES[0]!))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('schemas/crds not found next to the Shipgate package (is the schemas folder shipped?)');
}

function closeObjects(schema: unknown): void {
  if (schema === null || typeof schema !== 'object') return;
  if (Array.isArray(schema)) {
    for (const item of schema) closeObjects(item);
    return;
  }
  const s = schema as Record<string, unknown>;
  if (
    s.properties !== undefined &&
    s.additionalProperties === undefined &&
    s['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    s.additionalProperties = false;
  }
  for (const value of Object.values(s)) closeObjects(value);
}

let cache: Map<string, CrdValidator> | undefined;

/** Validators keyed by `group/Kind`, e.g. `argoproj.io/Rollout`. */
export function crdValidators(crdDir = findCrdDir()): Map<string, CrdValidator> {
  if (cache) return cache;
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false, validateFormats: true });
  addFormats(ajv);
  const validators = new Map<string, CrdValidator>();
  for (const file of CRD_FILES) {
    const crd = parse(readFileSync(path.join(crdDir, file), 'utf8')) as {
      spec: {
        group: string;
        names: { kind: string };
        versions: { name: string; schema?: { openAPIV3Schema?: unknown } }[];
      };
    };
    const entry: CrdValidator = { group: crd.spec.group, kind: crd.spec.names.kind, versions: new Map() };
    for (const version of crd.spec.versions) {
      const schema = version.schema?.openAPIV3Schema;
      if (!schema) continue;
      // apiVersion, kind and metadata are checked by Shipgate itself; the CRD leaves them open.
      closeObjects(schema);
      entry.versions.set(version.name, ajv.compile(schema as object));
    }
    validators.set(`${entry.group}/${entry.kind}`, entry);
  }
  cache = validators;
  return validators;
}

export type { ErrorObject };
