import { access, constants, lstat, opendir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import {
  SandboxUnavailable,
  GitopsKustomizeMissing,
  GitopsPathUnsafe,
  GitopsRenderFailed,
  GitopsRenderTimeout,
  GitopsSourceTooLarge,
} from '../errors.js';
import { checkKustomizeSources, findKustomizationFile } from './check-kustomize-sources.js';
import { isClusterScopedKind } from './cluster-scoped-kinds.js';
import { parseManifestDocuments } from './parse-manifest-documents.js';
import { isInside, resolveInside } from './path-safety.js';
import { pinImage } from './pin-image.js';
import { probeSandbox, runInSandbox } from '../executors/bubblewrap/run-in-sandbox.js';
import { tokenMasker } from '../masking/secret-masker.js';
import { runProcess, type ProcessOutcome } from '../process/run-process.js';
import type {
  ManifestDocument,
  ManifestIssue,
  ManifestSource,
  ReleaseImage,
  RenderedEnvironment,
  RenderedFile,
} from './types.js';

/**
 * Renders one environment's manifests from an app checkout: a kustomize overlay (real
 * `kustomize build` or `kubectl kustomize`) or a folder of plain YAML. Then pins the released
 * image, fills the environment's namespace where none is set, and lays the objects out one per
 * file with stable names (the "rendered manifests" pattern).
 */

export interface RenderLimits {
  /** Files in a plain YAML folder (entries scanned stop one past this). @defaultValue 500 */
  maxFiles?: number;
  /** One plain YAML file. @defaultValue 2 MiB */
  maxFileBytes?: number;
  /** All input files, or kustomize's output. @defaultValue 8 MiB */
  maxTotalBytes?: number;
  /** @defaultValue 1000 */
  maxDocuments?: number;
  /** @defaultValue 100 */
  maxAliasCount?: number;
  /** kustomize wall time. @defaultValue 30_000 */
  timeoutMs?: number;
}

export interface RenderOptions {
  /** Root of the app repo checkout; nothing outside it is read. */
  checkoutDir: string;
  source: ManifestSource;
  /** The release's image; omitted for pull-request previews, which pin nothing. */
  image?: ReleaseImage;
  /** Namespace filled into namespaced objects that have none. */
  namespace?: string;
  limits?: RenderLimits;
  /** Command that renders kustomize, e.g. `['kustomize','build']`. @defaultValue found on PATH */
  kustomizeCommand?: readonly string[];
  /** PATH for finding and running kustomize. @defaultValue `process.env.PATH` */
  pathEnv?: string;
  /**
   * `sandbox` (the default): kustomize runs in bubblewrap with no network, the checkout
   * read-only and nothing else of the host; without a sandbox the render is refused.
   * `unsandboxed` only with SHIPGATE_EXECUTOR=local-unsandboxed.
   */
  isolation?: 'sandbox' | 'unsandboxed';
}

export interface RenderResult extends RenderedEnvironment {
  /** Documents that could not be parsed; the caller fails validation on them. */
  issues: ManifestIssue[];
}

const DEFAULT_LIMITS: Required<RenderLimits> = Object.freeze({
  maxFiles: 500,
  maxFileBytes: 2 * 1024 * 1024,
  maxTotalBytes: 8 * 1024 * 1024,
  maxDocuments: 1000,
  maxAliasCount: 100,
  timeoutMs: 30_000,
});

export async function renderManifests(options: RenderOptions): Promise<RenderResult> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const parsed =
    'kustomize' in options.source
      ? await renderKustomize(options, options.source.kustomize, limits)
      : await readPlainDirectory(options.checkoutDir, options.source.directory, limits);

  let pinnedImages = 0;
  for (const doc of parsed.documents) {
    if (options.image) pinnedImages += pinImage(doc.object, options.image);
    if (options.namespace) fillNamespace(doc.object, options.namespace);
  }
  return {
    files: layoutFiles(parsed.documents),
    documents: parsed.documents,
    pinnedImages,
    issues: parsed.issues,
  };
}

function fillNamespace(object: Record<string, unknown>, namespace: string): void {
  if (typeof object.kind !== 'string' || isClusterScopedKind(object.kind)) return;
  const metadata = object.metadata;
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) return;
  const meta = metadata as Record<string, unknown>;
  if (meta.namespace === undefined || meta.namespace === null || meta.namespace === '')
    meta.namespace = namespace;
}

// ── file layout ─────────────────────────────────────────────────────────────

function slug(value: unknown): string {
  const text = typeof value === 'string' && value !== '' ? value : 'unnamed';
  return (
    text
      .toLowerCase()
      .replace(/[^a-z0-9.-]+/g, '-')
      .replace(/^[.-]+|-+$/g, '')
      .slice(0, 100) || 'unnamed'
  );
}

/** Serialises one object as Shipgate writes it: no anchors, no line folding. */
export function serializeManifest(object: Record<string, unknown>): string {
  return stringify(object, { lineWidth: 0, aliasDuplicateObjects: false });
}

/**
 * `<kind>-<name>.yaml`, lowercase. When two objects share a kind and name (different groups or
 * namespaces), the later ones get `-<namespace>` and then a counter, in document order, so
 * the same input always gives the same names.
 */
export function layoutFiles(documents: ManifestDocument[]): RenderedFile[] {
  const used = new Set<string>();
  const files: RenderedFile[] = [];
  for (const doc of documents) {
    const metadata = (doc.object.metadata ?? {}) as Record<string, unknown>;
    let base = `${slug(doc.object.kind)}-${slug(metadata.name)}`;
    if (used.has(`${base}.yaml`) && typeof metadata.namespace === 'string')
      base += `-${slug(metadata.namespace)}`;
    let name = `${base}.yaml`;
    for (let n = 2; used.has(name); n++) name = `${base}-${n}.yaml`;
    used.add(name);
    doc.outputFile = name;
    files.push({ name, content: serializeManifest(doc.object) });
  }
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

// ── plain YAML folder ───────────────────────────────────────────────────────

async function readPlainDirectory(
  checkoutDir: string,
  relative: string,
  limits: Required<RenderLimits>,
): Promise<{ documents: ManifestDocument[]; issues: ManifestIssue[] }> {
  const realRoot = await realpath(checkoutDir);
  const dir = await resolveInside(checkoutDir, relative, 'manifest folder');
  if (!(await stat(dir)).isDirectory()) throw GitopsPathUnsafe(relative, 'manifest folder is not a folder');

  // Stream the folder and stop early, so a folder of 100,000 files costs as much as 501.
  const names: string[] = [];
  const handle = await opendir(dir);
  try {
    for await (const entry of handle) {
      if (!/\.ya?ml$/i.test(entry.name)) continue;
      names.push(entry.name);
      if (names.length > limits.maxFiles) {
        throw GitopsSourceTooLarge(`manifest folder ${relative}`, `${limits.maxFiles} YAML files`);
      }
    }
  } finally {
    await handle.close().catch(() => undefined);
  }
  names.sort();

  let total = 0;
  const documents: ManifestDocument[] = [];
  const issues: ManifestIssue[] = [];
  for (const name of names) {
    const full = path.join(dir, name);
    const display = path.relative(realRoot, full);
    const link = await lstat(full);
    let target = full;
    if (link.isSymbolicLink()) {
      target = await realpath(full).catch(() => '');
      if (!target || !isInside(realRoot, target)) {
        throw GitopsPathUnsafe(display, 'is a symlink that points outside the app repository');
      }
    }
    const info = await stat(target);
    if (!info.isFile()) continue;
    if (info.size > limits.maxFileBytes) {
      throw GitopsSourceTooLarge(`${display} (${info.size} bytes)`, `${limits.maxFileBytes} bytes per file`);
    }
    total += info.size;
    if (total > limits.maxTotalBytes) {
      throw GitopsSourceTooLarge(`manifest folder ${relative}`, `${limits.maxTotalBytes} bytes in all`);
    }
    const parsed = parseManifestDocuments(await readFile(target, 'utf8'), display, {
      maxBytes: limits.maxFileBytes,
      maxAliasCount: limits.maxAliasCount,
      maxDocuments: limits.maxDocuments,
    });
    documents.push(...parsed.documents);
    issues.push(...parsed.issues);
    if (documents.length > limits.maxDocuments) {
      throw GitopsSourceTooLarge(`manifest folder ${relative}`, `${limits.maxDocuments} documents`);
    }
  }
  return { documents, issues };
}

// ── kustomize ───────────────────────────────────────────────────────────────

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** `kustomize build` when a standalone kustomize is on PATH, else `kubectl kustomize`. */
export async function findKustomizeCommand(pathEnv = process.env.PATH ?? ''): Promise<string[]> {
  const dirs = pathEnv.split(path.delimiter).filter((d) => d !== '');
  for (const [binary, ...args] of [
    ['kustomize', 'build'],
    ['kubectl', 'kustomize'],
  ] as const) {
    for (const dir of dirs) {
      const candidate = path.join(dir, binary);
      if (await isExecutable(candidate)) return [candidate, ...args];
    }
  }
  throw GitopsKustomizeMissing();
}

/** Where the checkout appears inside the render sandbox. */
const RENDER_ROOT = '/workspace/src';

async function renderKustomize(
  options: RenderOptions,
  relative: string,
  limits: Required<RenderLimits>,
): Promise<{ documents: ManifestDocument[]; issues: ManifestIssue[] }> {
  const realRoot = await realpath(options.checkoutDir);
  const overlay = await resolveInside(options.checkoutDir, relative, 'kustomize overlay');
  await checkKustomizeSources(realRoot, overlay);
  const kustomizationFile = (await findKustomizationFile(overlay))!;
  const sourceFile = path.relative(realRoot, kustomizationFile);

  const [command, ...baseArgs] = options.kustomizeCommand ?? (await findKustomizeCommand(options.pathEnv));
  // Root-only loading and no helm: kustomize's own barriers, behind the checks above and the sandbox.
  const flags = ['--load-restrictor', 'LoadRestrictionsRootOnly', '--enable-helm=false'];
  const pathEnv = options.pathEnv ?? process.env.PATH ?? '/usr/bin:/bin';
  const common = {
    // A bare environment: kustomize needs no credentials, and must not see Shipgate's.
    env: { PATH: pathEnv, HOME: '/nonexistent', LANG: 'C' },
    timeoutMs: limits.timeoutMs,
    maxOutputBytes: 32 * 1024,
    captureStdoutBytes: limits.maxTotalBytes,
    killGraceMs: 1_000,
  };
  let result: ProcessOutcome;
  if ((options.isolation ?? 'sandbox') === 'sandbox') {
    const probe = await probeSandbox();
    if (!probe.ok) throw SandboxUnavailable(probe.reason);
    const inside = path.posix.join(RENDER_ROOT, path.relative(realRoot, overlay).split(path.sep).join('/'));
    const binary = await realpath(command!).catch(() => command!);
    result = await runInSandbox(
      // The worker's own uid outside (the checkout need not be reachable by another uid); inside
      // it is nobody, with nothing writable, no network and only the files kustomize needs.
      { ...probe.host, uid: undefined, gid: undefined },
      {
        mounts: [{ source: realRoot, target: RENDER_ROOT, writable: false }],
        readOnlyDirs: [path.dirname(binary)],
        etc: ['passwd', 'group', 'nsswitch.conf', 'ld.so.cache', 'ld.so.conf', 'ld.so.conf.d', 'localtime'],
        network: 'none',
        cwd: inside,
      },
      [binary, ...baseArgs, inside, ...flags],
      { ...common, cwd: '/' },
      { maxProcesses: 64 },
    );
  } else {
    result = await runProcess([command!, ...baseArgs, overlay, ...flags], { ...common, cwd: overlay });
  }
  if (result.spawnError?.code === 'ENOENT' || /^bwrap: execvp .*No such file/m.test(result.stderr)) {
    throw GitopsKustomizeMissing();
  }
  if (result.spawnError) throw GitopsRenderFailed(relative, result.spawnError.message);
  if (result.timedOut) throw GitopsRenderTimeout(relative, limits.timeoutMs);
  if (result.overflowed) {
    throw GitopsSourceTooLarge(`kustomize output of ${relative}`, `${limits.maxTotalBytes} bytes`);
  }
  if (result.exitCode !== 0) {
    // kustomize prints absolute paths of the checkout; keep messages repository-relative.
    const reason = tokenMasker
      .mask(result.stderr)
      .split(realRoot + path.sep)
      .join('')
      .split(RENDER_ROOT + '/')
      .join('')
      .trim()
      .split('\n')
      .slice(-5)
      .join('\n');
    throw GitopsRenderFailed(relative, reason || `exit code ${result.exitCode}`, {
      details: { sourceFile },
    });
  }
  const parsed = parseManifestDocuments(result.stdout, sourceFile, {
    maxBytes: limits.maxTotalBytes,
    maxAliasCount: limits.maxAliasCount,
    maxDocuments: limits.maxDocuments,
  });
  // Output positions are not source positions: drop the locator, keep the kustomization file.
  const documents = parsed.documents.map(({ locate: _locate, sourceLine: _line, ...rest }) => rest);
  return { documents, issues: parsed.issues };
}
