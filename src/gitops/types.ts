/** Shared shapes of the GitOps writer. */

/** Where an environment's manifests come from in the app repo (`.shipgate.yml` `manifests`). */
export type ManifestSource = { kustomize: string } | { directory: string };

/** The released image. `digest` wins over `tag` when both are known. */
export interface ReleaseImage {
  /** Repository without tag or digest, e.g. `ghcr.io/acme/api`. */
  repository: string;
  tag?: string;
  /** `sha256:…` */
  digest?: string;
}

/** What the platform policy grants one app in one environment. */
export interface EnvironmentTarget {
  app: string;
  env: string;
  /** Path in the env repo that Shipgate may replace, e.g. `apps/api/staging`. */
  path: string;
  /** Namespace every namespaced resource must be in; missing namespaces are filled in. */
  namespace: string;
  /** Cluster-scoped kinds this app may ship (e.g. `['Namespace']`, or `['*']` for any). @defaultValue none */
  allowClusterScoped?: readonly string[];
  /** Every Rollout must use `blueGreen` with `activeService` and `previewService`. @defaultValue false */
  requireBlueGreen?: boolean;
}

/** One Kubernetes object as rendered, with where it came from. */
export interface ManifestDocument {
  object: Record<string, unknown>;
  /** File in the app repo the object was read from (relative to the checkout), when known. */
  sourceFile: string;
  /** Index of the document in `sourceFile` (plain YAML) or in the kustomize output. */
  documentIndex: number;
  /** Name of the env-repo file this object is written to (set by the renderer). */
  outputFile?: string;
  /** 1-based line of the document start in `sourceFile`, when known. */
  sourceLine?: number;
  /** Finds the 1-based line and column of a field in the source, when the source is plain YAML. */
  locate?: (fieldPath: readonly (string | number)[]) => { line: number; column: number } | undefined;
}

/** One problem found in the manifests, ready to become a check-run annotation. */
export interface ManifestIssue {
  severity: 'error' | 'warning';
  /** Output file name (`rollout-api.yaml`), or the source file when nothing was rendered. */
  file: string;
  /** File in the app repo to annotate. */
  sourceFile: string;
  documentIndex: number;
  /** Dotted field path, e.g. `spec.strategy.blueGreen.activeService`; `` for the whole document. */
  field: string;
  message: string;
  /** What was expected, when one thing was. */
  expected?: string;
  line?: number;
  column?: number;
}

/** A rendered file for the env repo: a bare file name (no folders) and its YAML. */
export interface RenderedFile {
  name: string;
  content: string;
}

export interface RenderedEnvironment {
  files: RenderedFile[];
  documents: ManifestDocument[];
  /** Number of container image fields changed to the released image. */
  pinnedImages: number;
}
