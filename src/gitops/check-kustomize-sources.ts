import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { GitopsPathUnsafe, GitopsRenderFailed, GitopsSourceTooLarge } from '../errors.js';
import { isInside } from './path-safety.js';

/**
 * Walks the kustomization graph of an overlay before kustomize runs, so a hostile app repo
 * cannot make the renderer read outside its checkout or fetch anything. Every reference is
 * read the way kustomize reads it, by field: a field that holds a path is a path, whatever
 * characters it contains (no guessing that `x: y/../..` is inline YAML); a field that may
 * hold inline YAML (a patch) is inline only when it parses as a mapping or list. Every path
 * is resolved with realpath against the checkout root. The render then runs in a sandbox with
 * no network and kustomize's root-only load restrictor, as the last barrier.
 */

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const MAX_KUSTOMIZATIONS = 200;
const MAX_KUSTOMIZATION_BYTES = 256 * 1024;

/** Fields whose entries are paths to files or kustomization folders. */
const DIR_LIST_FIELDS = ['resources', 'bases', 'components'] as const;
const FILE_LIST_FIELDS = ['crds', 'configurations', 'patchesStrategicMerge'] as const;
/** Entries that are a path, or an inline plugin/config object (checked as config, not followed). */
const PLUGIN_LIST_FIELDS = ['generators', 'transformers', 'validators'] as const;
const PATCH_FIELDS = ['patches', 'patchesJson6902'] as const;
const GENERATOR_FIELDS = ['configMapGenerator', 'secretGenerator'] as const;
/** Fields that only ever fetch charts or run programs: never allowed. */
const FORBIDDEN_FIELDS = ['helmCharts', 'helmGlobals', 'helmChartInflationGenerator'] as const;

/**
 * True for anything kustomize (through go-getter or its own loader) would read as remote:
 * a URL scheme (`https://`, `ssh://`, `file://`), a forced getter (`git::`, `s3::`), scp
 * syntax (`git@host:…`), a host-like first segment (`github.com/…`, `example.org/…`), a
 * `?ref=`/query, or a `//` subpath.
 */
export function isRemoteReference(ref: string): boolean {
  const r = ref.trim();
  return (
    /^[a-z][a-z0-9+.-]*::/i.test(r) ||
    /^[a-z][a-z0-9+.-]*:\/\//i.test(r) ||
    /^[a-z][a-z0-9+.-]*:/i.test(r) ||
    /^[^/\s]+@[^/\s]+:/.test(r) ||
    /^[^/\s]*\.[a-z]{2,}(:\d+)?\//i.test(r) ||
    r.includes('?') ||
    /.\/\//.test(r)
  );
}

export async function findKustomizationFile(dir: string): Promise<string | undefined> {
  for (const name of KUSTOMIZATION_FILES) {
    const candidate = path.join(dir, name);
    const info = await stat(candidate).catch(() => undefined);
    if (info?.isFile()) return candidate;
  }
  return undefined;
}

interface Reference {
  ref: string;
  field: string;
  mayBeDir: boolean;
}

/** A patch `path` is a path; a patch string is inline only when it is YAML of a mapping or list. */
function isInlineYaml(value: string): boolean {
  if (!value.includes('\n') && !/^\s*[{[]/.test(value)) return false;
  try {
    const doc: unknown = parse(value, { maxAliasCount: 10 });
    return doc !== null && typeof doc === 'object';
  } catch {
    return false;
  }
}

function collectReferences(k: Record<string, unknown>, where: string): Reference[] {
  const refs: Reference[] = [];
  const add = (value: unknown, field: string, mayBeDir = false) => {
    if (value === undefined || value === null) return;
    if (typeof value !== 'string') throw GitopsPathUnsafe(`${where}: ${field}`, 'must be a path string');
    refs.push({ ref: value, field, mayBeDir });
  };
  const list = (field: string): unknown[] => {
    const value = k[field];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw GitopsPathUnsafe(`${where}: ${field}`, 'must be a list');
    return value;
  };
  for (const field of DIR_LIST_FIELDS) for (const v of list(field)) add(v, field, true);
  for (const field of FILE_LIST_FIELDS) {
    for (const v of list(field)) if (!(typeof v === 'string' && isInlineYaml(v))) add(v, field);
  }
  for (const field of PLUGIN_LIST_FIELDS) {
    for (const v of list(field)) {
      if (typeof v === 'string' && isInlineYaml(v)) continue;
      if (v !== null && typeof v === 'object') {
        // Inline plugin config: its own file references must stay inside too.
        refs.push(...collectReferences(v as Record<string, unknown>, `${where}: ${field}`));
        continue;
      }
      add(v, field, true);
    }
  }
  for (const field of PATCH_FIELDS) {
    for (const v of list(field)) {
      if (typeof v === 'string') {
        if (!isInlineYaml(v)) add(v, field);
      } else if (v !== null && typeof v === 'object')
        add((v as Record<string, unknown>).path, `${field}.path`);
    }
  }
  for (const field of GENERATOR_FIELDS) {
    for (const gen of list(field)) {
      if (gen === null || typeof gen !== 'object') continue;
      const g = gen as Record<string, unknown>;
      for (const key of ['files', 'envs']) {
        const files = g[key];
        if (files === undefined || files === null) continue;
        if (!Array.isArray(files)) throw GitopsPathUnsafe(`${where}: ${field}.${key}`, 'must be a list');
        for (const f of files) {
          // `key=path` names the data key; the path is after the first `=`.
          if (typeof f === 'string' && key === 'files' && f.includes('='))
            add(f.slice(f.indexOf('=') + 1), `${field}.files`);
          else add(f, `${field}.${key}`);
        }
      }
      add(g.env, `${field}.env`);
    }
  }
  const replacements = list('replacements');
  for (const r of replacements) {
    if (r !== null && typeof r === 'object') add((r as Record<string, unknown>).path, 'replacements.path');
  }
  const openapi = k.openapi;
  if (openapi !== null && typeof openapi === 'object')
    add((openapi as Record<string, unknown>).path, 'openapi.path');
  return refs;
}

/** Throws a typed error naming the file and the reason when the overlay at `overlayDir` (real path) reaches outside `root`. */
export async function checkKustomizeSources(root: string, overlayDir: string): Promise<void> {
  const realRoot = await realpath(root);
  const queue = [overlayDir];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const dir = queue.shift()!;
    if (seen.has(dir)) continue;
    seen.add(dir);
    if (seen.size > MAX_KUSTOMIZATIONS) {
      throw GitopsSourceTooLarge('the kustomization graph', `${MAX_KUSTOMIZATIONS} kustomizations`);
    }
    const file = await findKustomizationFile(dir);
    const display = path.relative(realRoot, dir) || '.';
    if (!file) throw GitopsRenderFailed(display, 'no kustomization.yaml in this folder');
    if (!isInside(realRoot, await realpath(file))) {
      throw GitopsPathUnsafe(
        path.relative(realRoot, file),
        'is a symlink that points outside the app repository',
      );
    }
    const where = path.relative(realRoot, file);
    const info = await stat(file);
    if (info.size > MAX_KUSTOMIZATION_BYTES) {
      throw GitopsSourceTooLarge(where, `${MAX_KUSTOMIZATION_BYTES} bytes`);
    }
    let doc: unknown;
    try {
      doc = parse(await readFile(file, 'utf8'), { maxAliasCount: 50 });
    } catch (err) {
      throw GitopsRenderFailed(where, `not valid YAML: ${(err as Error).message}`);
    }
    if (doc === null || doc === undefined) continue;
    if (typeof doc !== 'object' || Array.isArray(doc)) {
      throw GitopsRenderFailed(where, 'a kustomization must be a mapping');
    }
    const k = doc as Record<string, unknown>;
    for (const field of FORBIDDEN_FIELDS) {
      if (k[field] !== undefined) {
        throw GitopsPathUnsafe(
          `${where}: ${field}`,
          'helm charts are downloaded and run; render them into the repo instead',
        );
      }
    }

    for (const { ref, field, mayBeDir } of collectReferences(k, where)) {
      const at = `${where}: ${field}: ${ref}`;
      if (ref.trim() === '') throw GitopsPathUnsafe(at, 'is empty');
      if (ref.includes('\0')) throw GitopsPathUnsafe(at, 'contains a NUL byte');
      if (path.isAbsolute(ref)) throw GitopsPathUnsafe(at, 'absolute paths are not allowed');
      const target = path.resolve(dir, ref);
      if (!isInside(realRoot, target)) throw GitopsPathUnsafe(at, 'points outside the app repository');
      if (isRemoteReference(ref)) throw GitopsPathUnsafe(at, 'remote references are not allowed');
      let real: string;
      try {
        real = await realpath(target);
      } catch {
        continue; // Missing inside the checkout: kustomize reports it with context.
      }
      if (!isInside(realRoot, real)) {
        throw GitopsPathUnsafe(at, 'resolves outside the app repository (through a symlink)');
      }
      if (mayBeDir && (await stat(real)).isDirectory()) queue.push(real);
    }
  }
}
