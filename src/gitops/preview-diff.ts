import { isShipgateError } from '../errors.js';
import type { CheckAnnotation } from '../github/check-run-output.js';
import { diffRenderedFiles, type DiffLimits, type RenderedDiff } from './diff-rendered-files.js';
import { subtreeAt } from './edit-env-tree.js';
import { openEnvRepo } from './open-env-repo.js';
import { assertSafeRelativePath } from './path-safety.js';
import { renderManifests, type RenderLimits } from './render-manifests.js';
import type { EnvironmentTarget, ManifestIssue, ManifestSource, RenderedFile } from './types.js';
import { formatIssue, validateManifests } from './validate-manifests.js';
import type { EnvRepoOptions } from './write-env-path.js';

/**
 * The `shipgate/manifests` check for pull requests: render every environment at the PR's
 * head, validate it, and diff it against what the env repo holds now. Nothing is written.
 */

export interface PreviewEnvironment {
  target: EnvironmentTarget;
  source: ManifestSource;
}

export interface PreviewRequest {
  checkoutDir: string;
  environments: readonly PreviewEnvironment[];
  /** Annotated when an error has no better file. @defaultValue `.shipgate.yml` */
  configFile?: string;
  /** Per environment. Defaults share ~50,000 characters between all environments. */
  diffLimits?: DiffLimits;
  renderLimits?: RenderLimits;
  kustomizeCommand?: readonly string[];
}

export interface EnvironmentPreview {
  env: string;
  path: string;
  /** `ok`: rendered and valid. `invalid`: validation errors. `error`: could not render. */
  status: 'ok' | 'invalid' | 'error';
  diff?: RenderedDiff;
  issues: ManifestIssue[];
}

export interface PreviewResult {
  conclusion: 'success' | 'failure';
  environments: EnvironmentPreview[];
  /** GitHub check-run annotations on the app repo's files. */
  annotations: CheckAnnotation[];
  /** Check-run `output.title`, `output.summary` and `output.text` (markdown). */
  title: string;
  summary: string;
  text: string;
}

interface RenderOutcome {
  files?: RenderedFile[];
  issues: ManifestIssue[];
  status: EnvironmentPreview['status'];
}

async function renderOne(request: PreviewRequest, env: PreviewEnvironment): Promise<RenderOutcome> {
  const configFile = request.configFile ?? '.shipgate.yml';
  try {
    const rendered = await renderManifests({
      checkoutDir: request.checkoutDir,
      source: env.source,
      namespace: env.target.namespace,
      ...(request.renderLimits ? { limits: request.renderLimits } : {}),
      ...(request.kustomizeCommand ? { kustomizeCommand: request.kustomizeCommand } : {}),
    });
    const issues = [
      ...rendered.issues,
      ...(await validateManifests(rendered.documents, { target: env.target })),
    ];
    const invalid = issues.some((i) => i.severity === 'error');
    return { files: rendered.files, issues, status: invalid ? 'invalid' : 'ok' };
  } catch (err) {
    if (!isShipgateError(err) || err.retryable) throw err;
    const sourceFile = typeof err.details?.sourceFile === 'string' ? err.details.sourceFile : configFile;
    return {
      status: 'error',
      issues: [
        {
          severity: 'error',
          file: sourceFile,
          sourceFile,
          documentIndex: 0,
          field: '',
          message: `${err.code}: ${err.message}`,
        },
      ],
    };
  }
}

export async function previewManifestDiffs(
  options: EnvRepoOptions,
  request: PreviewRequest,
): Promise<PreviewResult> {
  const rendered: (RenderOutcome & { env: PreviewEnvironment })[] = [];
  for (const env of request.environments) rendered.push({ env, ...(await renderOne(request, env)) });

  const perEnvChars = Math.floor(50_000 / Math.max(1, request.environments.length));
  const limits: DiffLimits = { maxChars: perEnvChars, ...request.diffLimits };
  const previews = await openEnvRepo(options, async (repo, _branch, tip) => {
    const rootTree = tip ? await repo.revParse(`${tip}^{tree}`) : null;
    const out: EnvironmentPreview[] = [];
    for (const r of rendered) {
      const path = assertSafeRelativePath(r.env.target.path, 'env repo path');
      const preview: EnvironmentPreview = { env: r.env.target.env, path, status: r.status, issues: r.issues };
      if (r.files) {
        const current = new Map<string, string>();
        const subtree = await subtreeAt(repo, rootTree, path.split('/'));
        if (subtree) {
          const blobs = (await repo.lsTreeRecursive(subtree)).filter((e) => e.type === 'blob');
          const contents = await repo.readBlobs(blobs.map((b) => b.oid));
          for (const b of blobs) current.set(b.name, contents.get(b.oid) ?? '');
        }
        preview.diff = diffRenderedFiles(path, current, r.files, limits);
      }
      out.push(preview);
    }
    return out;
  });

  const annotations: CheckAnnotation[] = previews.flatMap((p) =>
    p.issues.map((i) => ({
      path: i.sourceFile,
      start_line: i.line ?? 1,
      end_line: i.line ?? 1,
      annotation_level: i.severity === 'error' ? ('failure' as const) : ('warning' as const),
      title: `${p.env}: ${i.file}${i.field ? ` ${i.field}` : ''}`,
      message: `${i.message}${i.expected ? ` (expected ${i.expected})` : ''}`,
    })),
  );
  const failed = previews.filter((p) => p.status !== 'ok');
  const conclusion = failed.length > 0 ? 'failure' : 'success';
  const changedEnvs = previews.filter(
    (p) => p.diff && p.diff.added.length + p.diff.changed.length + p.diff.removed.length > 0,
  );
  const title =
    failed.length > 0
      ? `Manifests invalid in ${failed.map((p) => p.env).join(', ')}`
      : changedEnvs.length > 0
        ? `Manifests change in ${changedEnvs.map((p) => p.env).join(', ')}`
        : 'No manifest changes';

  const summaryLines = [
    '| environment | path | result | added | changed | removed |',
    '|---|---|---|---|---|---|',
  ];
  for (const p of previews) {
    const d = p.diff;
    const result =
      p.status === 'ok'
        ? 'valid'
        : p.status === 'invalid'
          ? `${p.issues.filter((i) => i.severity === 'error').length} error(s)`
          : 'render failed';
    summaryLines.push(
      `| ${p.env} | \`${p.path}\` | ${result} | ${d?.added.length ?? '–'} | ${d?.changed.length ?? '–'} | ${d?.removed.length ?? '–'} |`,
    );
  }
  const textParts: string[] = [];
  for (const p of previews) {
    textParts.push(`### ${p.env} (\`${p.path}\`)`);
    const errors = p.issues.filter((i) => i.severity === 'error');
    if (errors.length > 0) textParts.push(errors.map((i) => `- ${formatIssue(i)}`).join('\n'));
    if (p.diff) {
      if (p.diff.patch === '') textParts.push('No changes.');
      else {
        // A fence longer than any backtick run inside, so manifest content cannot close it.
        const fence = '`'.repeat(
          Math.max(3, ...[...p.diff.patch.matchAll(/`+/g)].map((m) => m[0].length + 1)),
        );
        textParts.push(`${fence}diff\n${p.diff.patch}${fence}`);
      }
      if (p.diff.truncated) textParts.push('_The diff was cut to fit; render locally for the full output._');
    }
  }
  return {
    conclusion,
    environments: previews,
    annotations,
    title,
    summary: summaryLines.join('\n'),
    text: textParts.join('\n\n'),
  };
}
