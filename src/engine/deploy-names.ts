import path from 'node:path';
import type { PlannedEnvironment } from './deploy-targets.js';

/**
 * Names by convention, so the argocd/ examples work as they are: the Argo CD Application is
 * `<app>-<env>`, the Rollout is the rendered one (`rollout-<name>.yaml`, else `<app>`) in the
 * environment's namespace, and ZAP scans `<rollout>-preview` inside the cluster.
 */
export function deployNames(planned: PlannedEnvironment, renderedFiles: readonly string[], zapPath: string) {
  const rolloutFile = renderedFiles.find((f) => /^rollout-.+\.yaml$/.test(path.basename(f)));
  const rollout = rolloutFile
    ? path
        .basename(rolloutFile)
        .replace(/^rollout-/, '')
        .replace(/\.yaml$/, '')
    : planned.target.app;
  return {
    application: `${planned.target.app}-${planned.target.env}`,
    rollout,
    previewUrl: `http://${rollout}-preview.${planned.target.namespace}.svc.cluster.local${zapPath}`,
  };
}
