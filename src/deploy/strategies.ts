/**
 * The deploy strategies an environment can choose in `.shipgate.yml` (bounded by the platform
 * policy). A leaf module: the pipeline schema, the policy and the deploy all read it.
 * - blueGreen: an Argo Rollout; preview, analysis, ZAP against the preview, promote.
 * - canary: an Argo Rollout with setWeight/pause/analysis steps; every pause gated.
 * - rolling: a plain Deployment; its progress conditions and Argo CD's health; no Rollouts.
 */
export const DEPLOY_STRATEGIES = ['blueGreen', 'canary', 'rolling'] as const;
export type DeployStrategy = (typeof DEPLOY_STRATEGIES)[number];

const WHAT: Record<DeployStrategy, string> = {
  blueGreen:
    'Argo Rollout, blue-green: preview, analysis and ZAP against the preview, then promote; abort and revert commit on failure',
  canary:
    'Argo Rollout, canary: every pause gated (analysis, ZAP against the canary, step deadline); abort and revert commit on failure',
  rolling:
    'plain Deployment, rolling update: its progress conditions, progressDeadlineSeconds and Argo CD health; revert commit on failure',
};

/** The PR manifests check's "which strategy each environment will use", one Markdown line each. */
export function describeStrategies(
  environments: readonly { env: string; strategy: DeployStrategy }[],
): string {
  if (environments.length === 0) return '';
  const lines = environments.map((e) => `- \`${e.env}\`: **${e.strategy}** (${WHAT[e.strategy]})`);
  return `Deploy strategy per environment:\n${lines.join('\n')}`;
}
