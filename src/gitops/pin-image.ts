import type { ReleaseImage } from './types.js';

/**
 * Pins the released image into rendered objects, touching only container `image` fields whose
 * repository is the release's. Everything else (sidecars, other fields) is left byte-identical,
 * which is what keeps write-back from "copying more than it should".
 */

export interface ImageReference {
  /** As written, without tag or digest. */
  repository: string;
  tag?: string;
  digest?: string;
}

const CONTAINER_LISTS = ['containers', 'initContainers', 'ephemeralContainers'] as const;

/** Splits `registry:5000/org/app:tag@sha256:…` into repository, tag and digest. */
export function parseImageReference(image: string): ImageReference {
  let rest = image.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  // A colon after the last slash is a tag; before it, a registry port.
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  return { repository: rest, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/**
 * Canonical repository name, so `nginx`, `library/nginx` and `docker.io/library/nginx` compare
 * equal, as the container runtime would treat them.
 */
export function normalizeRepository(repository: string): string {
  let repo = repository.trim().toLowerCase();
  const first = repo.split('/')[0] ?? '';
  const hasRegistry =
    repo.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) repo = `docker.io/${repo}`;
  repo = repo.replace(/^(index\.)?docker\.io\//, 'docker.io/');
  if (/^docker\.io\/[^/]+$/.test(repo)) repo = repo.replace('docker.io/', 'docker.io/library/');
  return repo;
}

/** The exact reference Shipgate writes: by digest when known, else by tag. */
export function pinnedReference(image: ReleaseImage): string {
  if (image.digest) return `${image.repository}@${image.digest}`;
  if (image.tag) return `${image.repository}:${image.tag}`;
  return image.repository;
}

export interface ContainerImageField {
  /** Field path from the object root, e.g. `['spec','template','spec','containers',0,'image']`. */
  path: (string | number)[];
  image: string;
}

function podSpecPaths(object: Record<string, unknown>): (string | number)[][] {
  const kind = object.kind;
  if (kind === 'Pod') return [['spec']];
  if (kind === 'CronJob') return [['spec', 'jobTemplate', 'spec', 'template', 'spec']];
  if (kind === 'PodTemplate') return [['template', 'spec']];
  // Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, Rollout and any CRD shaped like them.
  return [['spec', 'template', 'spec']];
}

function getAt(root: unknown, fieldPath: readonly (string | number)[]): unknown {
  let node = root;
  for (const key of fieldPath) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

/** Every container image field in an object's pod template(s). */
export function findContainerImages(object: Record<string, unknown>): ContainerImageField[] {
  const found: ContainerImageField[] = [];
  for (const specPath of podSpecPaths(object)) {
    const spec = getAt(object, specPath);
    if (spec === null || typeof spec !== 'object') continue;
    for (const list of CONTAINER_LISTS) {
      const containers = (spec as Record<string, unknown>)[list];
      if (!Array.isArray(containers)) continue;
      containers.forEach((container, index) => {
        const image = (container as Record<string, unknown> | null)?.image;
        if (typeof image === 'string') found.push({ path: [...specPath, list, index, 'image'], image });
      });
    }
  }
  return found;
}

/** Sets every matching image field in place; returns how many were set. */
export function pinImage(object: Record<string, unknown>, image: ReleaseImage): number {
  const want = normalizeRepository(image.repository);
  const pinned = pinnedReference(image);
  let count = 0;
  for (const field of findContainerImages(object)) {
    if (normalizeRepository(parseImageReference(field.image).repository) !== want) continue;
    const container = getAt(object, field.path.slice(0, -1)) as Record<string, unknown>;
    container.image = pinned;
    count++;
  }
  return count;
}
