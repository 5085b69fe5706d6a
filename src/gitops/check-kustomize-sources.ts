import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { GitopsPathUnsafe, GitopsRenderFailed, GitopsSourceTooLarge } from '../errors.js';
import { isInside } from './path-safety.js';

/**
 * Walks the kustomization graph of an overlay before kustomize runs, so a hostile app repo
 * cannot make the renderer read files outside its checkout (`../../../etc`, a symlinked base)
 * or fetch remote bases. kustomize's own load restrictor still applies; this adds the
 * checkout boundary and "no network", which kustomize does not enforce.
 */

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
const MAX_KUSTOMIZATIONS = 200;
const MAX_KUSTOMIZATION_BYTES = 256 * 1024;

const LIST_FIELDS = [
  'resources',
  'bases',
  'components',
  'crds',
  'configurations',
  'generators',
  'transformers',
  'validators',
  'patchesStrategicMerge',
] as const;
const OBJECT_LIST_FIELDS = ['patches', 'patchesJson6902', 'replacements'] as const;
const GENERATOR_FIELDS = ['configMapGenerator', 'secretGenerator', 'helmChartInflationGenerator'] as const;

function isRemote(ref: string): boolean {
  return (
    /^[a-z][a-z0-9+.-]*:\/\//i.test(ref) ||
    /^git@/.test(ref) ||
    /^(github\.com|gitlab\.com|bitbucket\.org)\//i.test(ref) ||
    /\?ref=|\/\/.*\?/.test(ref)
  );
}

/** Inline patches and inline generator configs are YAML, not paths. */
function looksInline(ref: string): boolean {
  return ref.includes('\n') || /^\s*[{[]/.test(ref) || /:\s/.test(ref);
}

export async function findKustomizationFile(dir: string): Promise<string | undefined> {
  for (const name of KUSTOMIZATION_FILES) {
    const candidate = path.join(dir, name);
    const info = await stat(candidate).catch(() => undefined);
    if (info?.isFile()) return candidate;
  }
  return undefined;
}

/** Throws a typed error when the overlay at `overlayDir` (real path) reaches outside `root`. */
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
    const info = await stat(file);
    if (info.size > MAX_KUSTOMIZATION_BYTES) {
      throw GitopsSourceTooLarge(path.relative(realRoot, file), `${MAX_KUSTOMIZATION_BYTES} bytes`);
    }
    let doc: unknown;
    try {
      doc = parse(await readFile(file, 'utf8'), { maxAliasCount: 50 });
    } catch (err) {
      throw GitopsRenderFailed(path.relative(realRoot, file), `not valid YAML: ${(err as Error).message}`);
    }
    if (doc === null || typeof doc !== 'object') continue;
    const k = doc as Record<string, unknown>;
    if (k.helmCharts !== undefined || k.helmGlobals !== undefined) {
      throw GitopsPathUnsafe(
        path.relative(realRoot, file),
        'helmCharts download charts; render them into the repo instead',
      );
    }

    const refs: { ref: string; mayBeDir: boolean }[] = [];
    const addRef = (value: unknown, mayBeDir: boolean) => {
      if (typeof value === 'string' && !looksInline(value)) refs.push({ ref: value, mayBeDir });
    };
    for (const field of LIST_FIELDS) {
      const list = k[field];
      if (Array.isArray(list))
        for (const v of list) addRef(v, ['resources', 'bases', 'components'].includes(field));
    }
    for (const field of OBJECT_LIST_FIELDS) {
      const list = k[field];
      if (Array.isArray(list))
        for (const v of list) addRef((v as Record<string, unknown> | null)?.path, false);
    }
    for (const field of GENERATOR_FIELDS) {
      const list = k[field];
      if (!Array.isArray(list)) continue;
      for (const gen of list as Record<string, unknown>[]) {
        for (const key of ['files', 'envs']) {
          const files = gen?.[key];
          if (Array.isArray(files)) {
            for (const f of files)
              if (typeof f === 'string') addRef(f.includes('=') ? f.slice(f.indexOf('=') + 1) : f, false);
          }
        }
        addRef(gen?.env, false);
      }
    }
    const openapi = k.openapi as Record<string, unknown> | undefined;
    addRef(openapi?.path, false);

    for (const { ref, mayBeDir } of refs) {
      const where = `${path.relative(realRoot, file)}: ${ref}`;
      if (isRemote(ref)) throw GitopsPathUnsafe(where, 'remote kustomize resources are not allowed');
      if (path.isAbsolute(ref)) throw GitopsPathUnsafe(where, 'absolute paths are not allowed');
      const target = path.resolve(dir, ref);
      let real: string;
      try {
        real = await realpath(target);
      } catch {
        if (!isInside(realRoot, target)) throw GitopsPathUnsafe(where, 'points outside the app repository');
        continue; // Missing file inside the checkout: kustomize reports it with context.
      }
      if (!isInside(realRoot, real)) {
        throw GitopsPathUnsafe(where, 'resolves outside the app repository (through ".." or a symlink)');
      }
      if (mayBeDir && (await stat(real)).isDirectory()) queue.push(real);
    }
  }
}
