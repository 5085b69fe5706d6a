import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { configIssueAnnotations } from '../engine/progress/pipeline-of-run.js';
import { renderManifests } from '../gitops/render-manifests.js';
import type { EnvironmentTarget, ManifestDocument, ManifestIssue } from '../gitops/types.js';
import { formatIssue, validateManifests } from '../gitops/validate-manifests.js';
import { PIPELINE_CONFIG_FILE, parsePipelineConfig, type PipelineConfig } from '../pipeline/index.js';
import { parsePolicy, POLICY_FILE_PATH, resolveDeployTarget, type Policy } from '../policy/index.js';
import type { ConfigIssue } from '../yaml/parse-yaml-with-schema.js';

type Kind = 'pipeline' | 'policy';

/** `shipgate validate` itself (see `validateCommand`): the exit code. `usage` is printed with usage mistakes. */
export async function validateFiles(args: string[], usage: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      kind: { type: 'string' },
      render: { type: 'boolean', default: false },
      policy: { type: 'string' },
      repo: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.kind !== undefined && values.kind !== 'pipeline' && values.kind !== 'policy') {
    console.error(`shipgate: --kind must be "pipeline" or "policy", not ${JSON.stringify(values.kind)}`);
    return 2;
  }
  if ((values.policy === undefined) !== (values.repo === undefined) || (values.policy && !values.render)) {
    console.error(`shipgate: --policy and --repo go together, with --render\nUsage: ${usage}`);
    return 2;
  }
  const files = positionals.length > 0 ? positionals : defaultFiles();
  if (files.length === 0) {
    console.error(
      `shipgate: no ${PIPELINE_CONFIG_FILE} or ${POLICY_FILE_PATH} here: name the file to check\nUsage: ${usage}`,
    );
    return 2;
  }

  let grantPolicy: Policy | undefined;
  if (values.policy !== undefined) {
    const policyResult = readAndParse(values.policy, 'policy');
    if (policyResult === 'unreadable') return 1;
    if (!policyResult.ok) {
      printIssues(values.policy, policyResult.errors);
      return 1;
    }
    if ('policy' in policyResult) grantPolicy = policyResult.policy;
  }

  let failed = false;
  for (const file of files) {
    const kind = (values.kind as Kind | undefined) ?? kindOf(file);
    if (kind === undefined) {
      console.error(
        `shipgate: ${file}: cannot tell whether it is a pipeline or a policy from its name: add --kind pipeline or --kind policy`,
      );
      return 2;
    }
    const result = readAndParse(file, kind);
    if (result === 'unreadable') {
      failed = true;
      continue;
    }
    if (!result.ok) {
      printIssues(file, result.errors);
      failed = true;
      continue;
    }
    if ('config' in result) {
      const envs = result.config.environments.map((e) => e.name).join(' → ');
      console.log(`${file}: valid pipeline for app ${result.config.app} (environments ${envs})`);
      if (values.render) {
        const rendered = await renderAndValidate(file, result.config, grantPolicy, values.repo);
        failed ||= !rendered;
      }
    } else if ('policy' in result) {
      const grants = Object.keys(result.policy.repos.grants).length;
      console.log(
        `${file}: valid policy (environments ${Object.keys(result.policy.environments).join(', ')}; ${grants} repo grant${grants === 1 ? '' : 's'})`,
      );
      if (values.render)
        console.error(`shipgate: ${file}: --render applies to a ${PIPELINE_CONFIG_FILE}, not a policy`);
    }
  }
  return failed ? 1 : 0;
}

function defaultFiles(): string[] {
  return [PIPELINE_CONFIG_FILE, POLICY_FILE_PATH].filter((f) => existsSync(f)).slice(0, 1);
}

function kindOf(file: string): Kind | undefined {
  const base = path.basename(file);
  if (/^\.shipgate\.ya?ml$/.test(base)) return 'pipeline';
  if (/^policy\.ya?ml$/.test(base)) return 'policy';
  return undefined;
}

type Parsed =
  { ok: true; config: PipelineConfig } | { ok: true; policy: Policy } | { ok: false; errors: ConfigIssue[] };

function readAndParse(file: string, kind: Kind): Parsed | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    console.error(
      `shipgate: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
    return 'unreadable';
  }
  // The same parsers (and size, alias and depth limits) as the worker that reads the file from GitHub.
  return kind === 'pipeline' ? parsePipelineConfig(text, file) : parsePolicy(text, file);
}

/** `file:line:column: <yaml path>: <message> (expected: …)`: the check run's annotation, as a compiler line. */
function printIssues(file: string, errors: readonly ConfigIssue[]): void {
  const annotations = configIssueAnnotations(errors);
  errors.forEach((issue, i) => {
    const where = issue.yamlPath === '' ? '' : `${issue.yamlPath}: `;
    console.error(
      `${file}:${annotations[i]!.start_line}:${annotations[i]!.start_column}: ${where}${annotations[i]!.message}`,
    );
  });
  console.error(`${file}: ${errors.length} problem${errors.length === 1 ? '' : 's'}`);
}

/** Renders each environment and validates it; true when nothing is an error. */
async function renderAndValidate(
  file: string,
  config: PipelineConfig,
  policy: Policy | undefined,
  repo: string | undefined,
): Promise<boolean> {
  // Manifest paths in .shipgate.yml are relative to the repository root, where the file lives.
  const checkoutDir = path.dirname(path.resolve(file));
  let ok = true;
  for (const { name: env } of config.environments) {
    const manifest = config.manifests[env]!;
    const source =
      manifest.kind === 'kustomize' ? { kustomize: manifest.path } : { directory: manifest.path };
    let target: Pick<EnvironmentTarget, 'namespace' | 'allowClusterScoped' | 'requireBlueGreen'> | undefined;
    if (policy !== undefined) {
      const decision = resolveDeployTarget(policy, repo!, env);
      if (!decision.allowed) {
        console.error(`${file}: ${env}: ${decision.reason}`);
        ok = false;
        continue;
      }
      // Mapped as the engine maps it (src/engine/decisions/deploy-targets.ts).
      target = {
        namespace: decision.namespace,
        allowClusterScoped: decision.allowClusterScoped ? ['*'] : [],
        requireBlueGreen: decision.requireBlueGreen,
      };
    }
    let issues: ManifestIssue[];
    let count: number;
    try {
      const rendered = await renderManifests({
        checkoutDir,
        source,
        ...(target ? { namespace: target.namespace } : {}),
      });
      count = rendered.documents.length;
      issues = [
        ...rendered.issues,
        ...(target
          ? await validateManifests(rendered.documents, { target })
          : await validateEachNamespace(rendered.documents)),
      ];
    } catch (err) {
      console.error(`${file}: ${env}: ${(err as Error).message}`);
      ok = false;
      continue;
    }
    const errors = issues.filter((i) => i.severity === 'error');
    for (const issue of issues) console.error(`${env}: ${issue.severity}: ${formatIssue(issue)}`);
    console.log(
      `${env}: rendered ${count} objects from ${manifest.kind} ${manifest.path}: ${errors.length === 0 ? 'valid' : `${errors.length} error${errors.length === 1 ? '' : 's'}`}${
        target
          ? ` (policy grant: namespace ${target.namespace})`
          : ' (schemas only: add --policy and --repo for the grant)'
      }`,
    );
    if (errors.length > 0) ok = false;
  }
  return ok;
}

/**
 * Without a policy there is no environment namespace to hold objects to, so each namespace's
 * objects are validated as their own target (cluster-scoped kinds allowed): every schema check
 * of the service runs, the grant checks do not.
 */
async function validateEachNamespace(documents: readonly ManifestDocument[]): Promise<ManifestIssue[]> {
  const groups = new Map<string | undefined, ManifestDocument[]>();
  for (const doc of documents) {
    const namespace = (doc.object.metadata as { namespace?: unknown } | undefined)?.namespace;
    const key = typeof namespace === 'string' ? namespace : undefined;
    groups.set(key, [...(groups.get(key) ?? []), doc]);
  }
  const issues: ManifestIssue[] = [];
  for (const [namespace, docs] of groups) {
    issues.push(
      ...(await validateManifests(docs, {
        // An object without a namespace gets the environment's at release: compare it with itself.
        target: { namespace: namespace as string, allowClusterScoped: ['*'], requireBlueGreen: false },
      })),
    );
  }
  return issues;
}
