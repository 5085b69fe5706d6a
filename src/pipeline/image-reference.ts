import { ImageTagInvalid } from '../errors.js';
import { IMAGE_DIGEST_PATTERN, IMAGE_TAG_PATTERN, type PipelineConfig } from './schema.js';

export interface ReleaseRef {
  /** The git tag, without `refs/tags/`. */
  tag: string;
  /** The full commit sha the tag points at. */
  sha: string;
}

/**
 * Fills the `image.tag` template for a release. Throws `ImageTagInvalid` when the result is not a
 * valid image tag: git tags may hold characters an image tag may not (`release/1.0`), and a
 * release must not go on with a mangled name.
 */
export function renderImageTag(template: string, release: ReleaseRef): string {
  const values: Record<string, string> = {
    tag: release.tag,
    version: release.tag.replace(/^v(?=\d)/, ''),
    sha: release.sha,
    shortSha: release.sha.slice(0, 7),
  };
  const tag = template.replace(/\{(tag|version|sha|shortSha)\}/g, (_m, name: string) => values[name]!);
  if (!IMAGE_TAG_PATTERN.test(tag)) {
    throw ImageTagInvalid(tag, 'an image tag is 1-128 of [A-Za-z0-9_.-], not starting with "." or "-"');
  }
  return tag;
}

/**
 * The reference a release deploys: `repository@sha256:…` when the digest is known (immutable, so
 * what was scanned is what runs), otherwise `repository:tag`.
 */
export function releaseImageReference(config: PipelineConfig, release: ReleaseRef, digest?: string): string {
  if (digest !== undefined) {
    if (!IMAGE_DIGEST_PATTERN.test(digest)) throw ImageTagInvalid(digest, 'a digest is sha256:<64 hex>');
    return `${config.image.repository}@${digest}`;
  }
  return `${config.image.repository}:${renderImageTag(config.image.tag, release)}`;
}
