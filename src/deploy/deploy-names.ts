import path from 'node:path';
import type { PlannedEnvironment } from '../engine/decisions/deploy-targets.js';

/**
 * Names by convention, so the argocd/ examples work as they are: the Argo CD Application is
 * `<app>-<env>`, the workload is the rendered Rollout (`rollout-<name>.yaml`; for the rolling
 * strategy the Deployment, `deployment-<name>.yaml`), else `<app>`, in the environment's
 * namespace, and ZAP scans `<rollout>-preview` inside the cluster.
 */
export function deployNames(planned: PlannedEnvironment, renderedFiles: readonly string[], zapPath: string) {
  const kind = planned.strategy === 'rolling' ? 'deployment' : 'rollout';
  const pattern = new RegExp(`^${kind}-(.+)\\.yaml$`);
  const workloadFile = renderedFiles.map((f) => pattern.exec(path.basename(f))).find((m) => m !== null);
  const rollout = workloadFile ? workloadFile[1]! : planned.target.app;
  return {
    application: `${planned.target.app}-${planned.target.env}`,
    rollout,
    previewUrl: `http://${rollout}-preview.${planned.target.namespace}.svc.cluster.local${zapPath}`,
  };
}
