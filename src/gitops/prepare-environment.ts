import type { ReleaseTrailers } from './commit-message.js';
import { commitToEnvRepo, type CommitToEnvRepoResult } from './commit-to-env-repo.js';
import { pinnedReference } from './pin-image.js';
import { renderManifests, type RenderLimits } from './render-manifests.js';
import type {
  EnvironmentTarget,
  ManifestIssue,
  ManifestSource,
  ReleaseImage,
  RenderedFile,
} from './types.js';
import { assertNoErrors, validateManifests } from './validate-manifests.js';
import type { EnvRepoOptions, WriteMode } from './write-env-path.js';

/**
 * Render → pin → validate for one environment, and the release step that follows it with a
 * commit. Validation runs to completion before git is touched, so a bad manifest, a hostile
 * path or an oversized input never writes anything.
 */

export interface PrepareEnvironmentRequest {
  checkoutDir: string;
  source: ManifestSource;
  target: EnvironmentTarget;
  /** Omitted for previews: nothing is pinned and the image policy is not checked. */
  image?: ReleaseImage;
  limits?: RenderLimits;
  kustomizeCommand?: readonly string[];
}

export interface PreparedEnvironment {
  files: RenderedFile[];
  /** Warnings only (errors throw). */
  warnings: ManifestIssue[];
  pinnedImages: number;
}

/** Throws SHIPGATE_E_GITOPS_MANIFESTS_INVALID with `details.issues` when anything is wrong. */
export async function prepareEnvironment(request: PrepareEnvironmentRequest): Promise<PreparedEnvironment> {
  const rendered = await renderManifests({
    checkoutDir: request.checkoutDir,
    source: request.source,
    namespace: request.target.namespace,
    ...(request.image ? { image: request.image } : {}),
    ...(request.limits ? { limits: request.limits } : {}),
    ...(request.kustomizeCommand ? { kustomizeCommand: request.kustomizeCommand } : {}),
  });
  const issues = [
    ...rendered.issues,
    ...(await validateManifests(rendered.documents, {
      target: request.target,
      ...(request.image ? { image: request.image } : {}),
    })),
  ];
  assertNoErrors(issues);
  return { files: rendered.files, warnings: issues, pinnedImages: rendered.pinnedImages };
}

export interface ReleaseToEnvironmentRequest extends PrepareEnvironmentRequest {
  image: ReleaseImage;
  /** Everything but `image`, which is the pinned reference. */
  trailers: Omit<ReleaseTrailers, 'image'>;
  mode?: WriteMode;
  body?: string;
  /** A deploy that lost its lock between the render and the commit must not commit. */
  signal?: AbortSignal;
  /**
   * Awaited once the environment is rendered and valid, before git is touched: a deploy's
   * preflight, run side by side with the checkout and the render. A rejection commits nothing.
   */
  beforeCommit?: () => Promise<void>;
}

export interface ReleaseToEnvironmentResult extends CommitToEnvRepoResult {
  files: string[];
  warnings: ManifestIssue[];
}

/** The release step: prepare the environment, then commit it to the granted path. */
export async function releaseToEnvironment(
  options: EnvRepoOptions,
  request: ReleaseToEnvironmentRequest,
): Promise<ReleaseToEnvironmentResult> {
  const prepared = await prepareEnvironment(request);
  await request.beforeCommit?.();
  request.signal?.throwIfAborted();
  const image = pinnedReference(request.image);
  const version = request.image.tag ?? request.image.digest?.slice(0, 19) ?? image;
  const result = await commitToEnvRepo(options, {
    path: request.target.path,
    app: request.target.app,
    env: request.target.env,
    files: prepared.files,
    trailers: { ...request.trailers, image },
    subject: `deploy ${request.target.app} ${version} to ${request.target.env}`,
    ...(request.body !== undefined ? { body: request.body } : {}),
    ...(request.mode ? { mode: request.mode } : {}),
  });
  return { ...result, files: prepared.files.map((f) => f.name), warnings: prepared.warnings };
}
