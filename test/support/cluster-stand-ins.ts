/**
 * The cluster side of an end-to-end release test: the Argo CD and Kubernetes API stand-ins,
 * the controller simulation for the web app's staging and production, and a way to put an
 * earlier release live (in the env repo and in the cluster) before the test starts.
 */
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { startArgoCdStandIn, type ArgoCdStandIn } from '../../sandbox/argocd-stand-in.js';
import { startKubeApiStandIn, type KubeStandIn } from '../../sandbox/kube-api-stand-in.js';
import { simulateRolloutController, type ControllerSim } from '../../sandbox/rollout-controller-sim.js';
import type { Harness } from './shipgate-harness.js';

export interface ClusterStandIns {
  kube: KubeStandIn;
  argo: ArgoCdStandIn;
  /** ARGOCD_SERVER, ARGOCD_TOKEN and KUBECONFIG for the harness. */
  env: Record<string, string>;
  /** Starts playing the controllers for the harness's env repo. */
  simulate(h: Harness): ControllerSim;
  close(): Promise<void>;
}

export async function startClusterStandIns(): Promise<ClusterStandIns> {
  const kube = await startKubeApiStandIn();
  const argo = await startArgoCdStandIn();
  return {
    kube,
    argo,
    env: { ARGOCD_SERVER: argo.url, ARGOCD_TOKEN: argo.token, KUBECONFIG: kube.kubeconfigPath },
    simulate: (h) =>
      simulateRolloutController({
        kube,
        argo,
        readFile: (rev, file) => h.envRepo.show(rev, file),
        environments: ['staging', 'production'].map((env) => ({
          application: `web-${env}`,
          namespace: `web-${env}`,
          path: `apps/web/${env}`,
          rollout: 'web',
        })),
      }),
    close: async () => {
      await Promise.all([argo.close(), kube.close()]);
    },
  };
}

const WEB_ROLLOUT = parse(readFileSync('test/fixtures/apps/web/deploy/base/rollout.yaml', 'utf8')) as {
  metadata: Record<string, unknown>;
  spec: { template: { spec: { containers: { image: string }[] } } };
};

/** The web fixture's Rollout running `image` in `namespace`. */
export function webRollout(image: string, namespace: string) {
  const rollout = structuredClone(WEB_ROLLOUT);
  rollout.spec.template.spec.containers[0]!.image = image;
  rollout.metadata = { name: 'web', namespace };
  return rollout;
}

/** Makes `image` live in `envs`: committed to the env repo as a release would be, and Healthy in the cluster. */
export async function seedLiveRelease(
  h: Harness,
  sim: ControllerSim,
  envs: readonly string[],
  image: string,
) {
  const files: Record<string, string> = {};
  for (const env of envs) {
    const live = webRollout(image, `web-${env}`);
    files[`apps/web/${env}/rollout-web.yaml`] = stringify(live);
    sim.seedHealthy(`web-${env}`, live);
  }
  await h.envRepo.commitFiles(files, `deploy web ${image}`);
}
