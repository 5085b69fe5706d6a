/**
 * The soak's outside world: the demo's stand-ins (GitHub, Argo CD with its cluster and Rollouts
 * controller, Slack), but with `apps` app repos instead of one, each a copy of the web fixture
 * renamed (`svc00`, `svc01`, …), each granted its own two paths and namespaces in the platform
 * policy, and each live at v0.9.0 in staging and production before the soak starts.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ArgoCdStandIn } from '../../sandbox/argocd-stand-in.js';
import {
  appPipeline,
  APPROVER,
  createRepo,
  git,
  INSTALLATION_ID,
  simulateLiveApps,
  standInShipgateEnv,
  startStandIns,
  type DemoRepo,
} from '../../sandbox/demo-world.js';
import type { GithubStandIn } from '../../sandbox/github-stand-in.js';
import type { KubeStandIn } from '../../sandbox/kube-api-stand-in.js';
import type { AnalysisPhase, ControllerSim } from '../../sandbox/rollout-controller-sim.js';
import type { SlackStandIn } from '../../sandbox/slack-stand-in.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const WEB_APP = path.join(ROOT, 'test/fixtures/apps/web');
export const ENVIRONMENTS = ['staging', 'production'] as const;
export type SoakEnv = (typeof ENVIRONMENTS)[number];
export const DEPLOY_CHANNEL = 'C0DEPLOYS';
export const APPROVAL_CHANNEL = 'C0PROD';
export const SEED_TAG = 'v0.9.0';
export { APPROVER };

export const appName = (i: number) => `svc${String(i).padStart(2, '0')}`;
export const imageOf = (app: string, tag: string) => `ghcr.io/acme/${app}:${tag}`;
export const rolloutPath = (app: string, env: string) => `apps/${app}/${env}/rollout-${app}.yaml`;

function policy(apps: string[]): string {
  const grants = apps
    .map(
      (app) => `    acme/${app}:
      app: ${app}
      environments:
        staging: { path: apps/${app}/staging, namespace: ${app}-staging }
        production: { path: apps/${app}/production, namespace: ${app}-production }`,
    )
    .join('\n');
  return `version: 1
releaseTagPattern: 'v*'
forkPullRequests: none
notifications:
  channel: ${DEPLOY_CHANNEL}
repos:
  allow: ['acme/*']
  grants:
${grants}
environments:
  staging:
    namespace: staging
  production:
    namespace: production
    approval:
      approvers:
        users: [${APPROVER}]
      required: 1
      channel: ${APPROVAL_CHANNEL}
identities:
  releaser-gh: U0RELEASER
  approver-gh: ${APPROVER}
`;
}

/** Copies the web fixture's `deploy/` tree with every `web` renamed to `app`. */
function copyRenamed(from: string, to: string, app: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from)) {
    const src = path.join(from, entry);
    const dst = path.join(to, entry);
    if (statSync(src).isDirectory()) copyRenamed(src, dst, app);
    else writeFileSync(dst, readFileSync(src, 'utf8').replaceAll('web', app));
  }
}

export interface SoakApp {
  name: string;
  repo: DemoRepo;
}

export interface SoakWorld {
  dir: string;
  apps: SoakApp[];
  env: DemoRepo;
  github: GithubStandIn;
  argo: ArgoCdStandIn;
  kube: KubeStandIn;
  slack: SlackStandIn;
  sim: ControllerSim;
  installationId: number;
  shipgateEnv: Record<string, string>;
  /** Commits a new version file to the app repo, pushes it, serves it through the contents API. */
  newCommit(app: SoakApp, tag: string): string;
  close(): Promise<void>;
}

export async function createSoakWorld(
  dir: string,
  appCount: number,
  analysis: (application: string, image: string) => AnalysisPhase | undefined,
): Promise<SoakWorld> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const standIns = await startStandIns();
  const { privateKey, github, kube, argo, slack } = standIns;
  const installationId = INSTALLATION_ID;
  try {
    const names = Array.from({ length: appCount }, (_, i) => appName(i));
    const apps: SoakApp[] = names.map((name) => {
      const repo = createRepo(dir, name);
      copyRenamed(path.join(WEB_APP, 'deploy'), path.join(repo.work, 'deploy'), name);
      repo.commit(
        {
          '.shipgate.yml': appPipeline(name),
          'run-tests.sh': 'echo "all 3 tests passed"\n',
          VERSION: 'initial\n',
        },
        `${name}: first commit`,
      );
      github.hostGitRepo('acme', name, repo.bare);
      return { name, repo };
    });

    const env = createRepo(dir, 'environments');
    env.commit({ 'shipgate/policy.yml': policy(names) }, 'platform policy');
    github.hostGitRepo('acme', 'environments', env.bare);

    const sim = simulateLiveApps(
      { kube, argo, env },
      names,
      { tag: SEED_TAG, message: `deploy every app at ${SEED_TAG}` },
      { stepMs: 100, postFor: analysis },
    );

    const shipgateEnv = standInShipgateEnv({ dir, privateKey, github, slack, argo, kube });

    return {
      dir,
      apps,
      env,
      github,
      argo,
      kube,
      slack,
      sim,
      installationId,
      shipgateEnv,
      newCommit(app, tag) {
        writeFileSync(path.join(app.repo.work, 'VERSION'), `${tag}\n`);
        git(app.repo.work, ['add', '-A']);
        git(app.repo.work, ['commit', '-q', '-m', `${app.name}: ${tag}`]);
        const sha = git(app.repo.work, ['rev-parse', 'HEAD']);
        git(app.repo.work, ['tag', tag, sha]);
        git(app.repo.work, ['push', '-q', 'origin', 'main', tag]);
        for (const file of git(app.repo.work, ['ls-files']).split('\n').filter(Boolean))
          github.setFile('acme', app.name, sha, file, readFileSync(path.join(app.repo.work, file), 'utf8'));
        return sha;
      },
      close: standIns.close,
    };
  } catch (err) {
    await standIns.close();
    throw err;
  }
}
