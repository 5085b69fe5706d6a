/**
 * The world `shipgate demo` plays in: real git repos under the demo folder (the app repo with
 * `.shipgate.yml` and a blue-green Rollout, the env repo with a starter policy), and the
 * sandbox simulators of GitHub, Argo CD with its cluster and Rollouts controller, and Slack.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { startArgoCdStandIn, type ArgoCdStandIn } from './argocd-stand-in.js';
import { startGithubStandIn, type GithubStandIn } from './github-stand-in.js';
import { startKubeApiStandIn, type KubeStandIn } from './kube-api-stand-in.js';
import {
  simulateRolloutController,
  type ControllerScenario,
  type ControllerSim,
} from './rollout-controller-sim.js';
import { startSlackStandIn, type SlackStandIn } from './slack-stand-in.js';

const ROOT = path.resolve(import.meta.dirname, '..');
/** The web app's kustomize tree (base Rollout with blue-green, overlays per environment). */
const WEB_APP = path.join(ROOT, 'test/fixtures/apps/web');

export const APP_ID = '4242';
export const APPROVER = 'U0APPROVER';

/** The `.shipgate.yml` of app `app` (a copy of the web fixture with `web` renamed). */
export const appPipeline = (app: string) => `# .shipgate.yml: how Shipgate tests, scans and deploys this app.
version: 1
app: ${app}
image:
  repository: ghcr.io/acme/${app}
test:
  image: node:20-bookworm
  command: sh ./run-tests.sh
scan:
  trivy:
    mode: image
manifests:
  staging:
    kustomize: deploy/overlays/staging
  production:
    kustomize: deploy/overlays/production
environments: [staging, production]
`;

export const PIPELINE = appPipeline('web');

export const POLICY = `# shipgate/policy.yml: the platform team's rules, read from the env repo's main branch.
version: 1
releaseTagPattern: 'v*'
forkPullRequests: none
notifications:
  channel: C0DEPLOYS
repos:
  allow: ['acme/*']
  grants:
    acme/web:
      app: web
      environments:
        staging: { path: apps/web/staging }
        production: { path: apps/web/production }
environments:
  staging:
    namespace: web-staging
  production:
    namespace: web-production
    approval:
      approvers:
        users: [${APPROVER}]
      required: 1
      channel: C0PROD
identities:
  releaser-gh: U0RELEASER
  approver-gh: ${APPROVER}
# Console roles (sign in at the Shipgate URL as one of the demo users).
access:
  viewers: ['org:acme']
  environments:
    staging: { operators: ['team:acme/sre'] }
    production: { operators: ['team:acme/sre'] }
`;

/** Who can sign in to the demo console (type the login on the GitHub stand-in's authorize page). */
export const DEMO_CONSOLE_USERS = [
  { login: 'releaser-gh', name: 'Rita Releaser', orgs: ['acme'] },
  { login: 'approver-gh', name: 'Avi Approver', orgs: ['acme'] },
  { login: 'operator-gh', name: 'Olga Operator', orgs: ['acme'], teams: ['acme/sre'] },
  { login: 'viewer-gh', name: 'Vic Viewer', orgs: ['acme'] },
];

const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Demo Developer',
  GIT_AUTHOR_EMAIL: 'dev@acme.example',
  GIT_COMMITTER_NAME: 'Demo Developer',
  GIT_COMMITTER_EMAIL: 'dev@acme.example',
};

export function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();
}

function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [file, content] of Object.entries(files)) {
    const full = path.join(dir, file);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
}

/** Every file of a work tree (not .git), as path → content. */
function filesOf(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  const listed = git(dir, ['ls-files']).split('\n').filter(Boolean);
  for (const file of listed) out[prefix + file] = readFileSync(path.join(dir, file), 'utf8');
  return out;
}

/** A work tree and the bare repository it pushes to (what GitHub hosts). */
export interface DemoRepo {
  work: string;
  bare: string;
  commit(files: Record<string, string>, message: string): string;
  /** Commit messages of the bare repo's main, newest first. */
  log(count: number): { sha: string; message: string }[];
  show(rev: string, file: string): string | undefined;
}

export function createRepo(dir: string, name: string): DemoRepo {
  const work = path.join(dir, name);
  const bare = path.join(dir, `${name}.git`);
  mkdirSync(work, { recursive: true });
  git(dir, ['init', '-q', '--bare', '-b', 'main', bare]);
  git(work, ['init', '-q', '-b', 'main', '.']);
  git(work, ['remote', 'add', 'origin', bare]);
  return {
    work,
    bare,
    commit(files, message) {
      writeFiles(work, files);
      git(work, ['add', '-A']);
      git(work, ['commit', '-q', '-m', message]);
      git(work, ['push', '-q', 'origin', 'main']);
      return git(work, ['rev-parse', 'HEAD']);
    },
    log(count) {
      const raw = git(bare, ['log', `-${count}`, '--format=%H%x00%B%x1e', 'main']);
      return raw
        .split('\x1e')
        .map((entry) => entry.trim())
        .filter(Boolean)
        .map((entry) => {
          const [sha, message] = entry.split('\0');
          return { sha: sha ?? '', message: (message ?? '').trim() };
        });
    },
    show(rev, file) {
      try {
        return execFileSync('git', ['show', `${rev}:${file}`], { cwd: bare, env: GIT_ENV, encoding: 'utf8' });
      } catch {
        return undefined;
      }
    },
  };
}

/** The web fixture's Rollout running `image` in `namespace`, named `name`. */
export function webRollout(image: string, namespace: string, name = 'web') {
  const rollout = parse(readFileSync(path.join(WEB_APP, 'deploy/base/rollout.yaml'), 'utf8')) as {
    metadata: Record<string, unknown>;
    spec: { template: { spec: { containers: { image: string }[] } } };
  };
  rollout.spec.template.spec.containers[0]!.image = image;
  rollout.metadata = { name, namespace };
  return rollout;
}

/**
 * The environment a Shipgate process needs to run against the stand-ins: the App's key and
 * fresh secrets, and every client pointed at its simulator. The demo and the soak both use it.
 */
export function standInShipgateEnv(world: {
  dir: string;
  privateKey: KeyObject;
  github: Pick<GithubStandIn, 'url'>;
  slack: Pick<SlackStandIn, 'token' | 'apiUrl'>;
  argo: Pick<ArgoCdStandIn, 'url' | 'token'>;
  kube: Pick<KubeStandIn, 'kubeconfigPath'>;
}): Record<string, string> {
  const { dir, privateKey, github, slack, argo, kube } = world;
  return {
    GITHUB_WEBHOOK_SECRET: randomBytes(24).toString('hex'),
    GITHUB_APP_ID: APP_ID,
    GITHUB_PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    GITHUB_API_URL: github.url,
    ENV_REPO: 'acme/environments',
    SHIPGATE_API_TOKEN: randomBytes(24).toString('hex'),
    SHIPGATE_DATA_DIR: path.join(dir, 'data'),
    SLACK_BOT_TOKEN: slack.token,
    SLACK_SIGNING_SECRET: randomBytes(24).toString('hex'),
    SLACK_API_URL: slack.apiUrl,
    ARGOCD_SERVER: argo.url,
    ARGOCD_TOKEN: argo.token,
    KUBECONFIG: kube.kubeconfigPath,
  };
}

/** The simulators a world runs on, the GitHub App installed (as 1001) on every account. */
export interface StandIns {
  /** The App's private key (GitHub holds the public one). */
  privateKey: KeyObject;
  github: GithubStandIn;
  kube: KubeStandIn;
  argo: ArgoCdStandIn;
  slack: SlackStandIn;
  /** Closes every stand-in, newest first. */
  close(): Promise<void>;
}

export const INSTALLATION_ID = 1001;

export async function startStandIns(): Promise<StandIns> {
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    await Promise.allSettled(closers.reverse().map((c) => c()));
  };
  try {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const github = await startGithubStandIn({
      appId: APP_ID,
      publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      installations: [{ id: INSTALLATION_ID, account: '*' }],
    });
    closers.push(() => github.close());
    const kube = await startKubeApiStandIn();
    closers.push(() => kube.close());
    const argo = await startArgoCdStandIn();
    closers.push(() => argo.close());
    const slack = await startSlackStandIn();
    closers.push(() => slack.close());
    return { privateKey, github, kube, argo, slack, close };
  } catch (err) {
    await close();
    throw err;
  }
}

const ENVIRONMENTS = ['staging', 'production'] as const;

/**
 * Plays the Rollouts controller for every app in staging and production (Application and
 * namespace `<app>-<env>`, env-repo folder `apps/<app>/<env>`), and puts `ghcr.io/acme/<app>:<tag>`
 * live in each: committed to the env repo, and Healthy in the cluster.
 */
export function simulateLiveApps(
  world: Pick<StandIns, 'kube' | 'argo'> & { env: DemoRepo },
  apps: readonly string[],
  live: { tag: string; message: string },
  scenario: Partial<ControllerScenario>,
): ControllerSim {
  const { kube, argo, env } = world;
  const sim = simulateRolloutController({
    kube,
    argo,
    readFile: async (rev, file) => env.show(rev, file),
    environments: apps.flatMap((app) =>
      ENVIRONMENTS.map((e) => ({
        application: `${app}-${e}`,
        namespace: `${app}-${e}`,
        path: `apps/${app}/${e}`,
        rollout: app,
      })),
    ),
    scenario,
  });
  const seed: Record<string, string> = {};
  for (const app of apps) {
    for (const e of ENVIRONMENTS) {
      const rollout = webRollout(`ghcr.io/acme/${app}:${live.tag}`, `${app}-${e}`, app);
      seed[`apps/${app}/${e}/rollout-${app}.yaml`] = stringify(rollout);
      sim.seedHealthy(`${app}-${e}`, rollout);
    }
  }
  env.commit(seed, live.message);
  return sim;
}

export interface DemoWorld {
  dir: string;
  app: DemoRepo;
  env: DemoRepo;
  github: GithubStandIn;
  argo: ArgoCdStandIn;
  kube: KubeStandIn;
  slack: SlackStandIn;
  sim: ControllerSim;
  /** The environment Shipgate is configured with (secrets are this run's own random values). */
  shipgateEnv: Record<string, string>;
  /** Pushes the app repo's HEAD and serves its files through the contents API; returns its sha. */
  publishApp(): string;
  close(): Promise<void>;
}

export async function createDemoWorld(dir: string): Promise<DemoWorld> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const standIns = await startStandIns();
  const { privateKey, github, kube, argo, slack } = standIns;
  try {
    for (const user of DEMO_CONSOLE_USERS) github.oauth.addUser(user);

    // The app repo: the web app's kustomize tree, its pipeline and a test script.
    const app = createRepo(dir, 'web');
    cpSync(path.join(WEB_APP, 'deploy'), path.join(app.work, 'deploy'), { recursive: true });
    app.commit(
      {
        '.shipgate.yml': PIPELINE,
        'run-tests.sh': 'echo "running the test suite"\necho "all 3 tests passed"\n',
        'README.md': '# web\n\nThe demo app: a blue-green Rollout behind two Services.\n',
      },
      'web: first commit',
    );
    github.hostGitRepo('acme', 'web', app.bare);

    // The env repo: the starter policy, and v0.9.0 live in both environments.
    const env = createRepo(dir, 'environments');
    env.commit({ 'shipgate/policy.yml': POLICY }, 'platform policy');
    github.hostGitRepo('acme', 'environments', env.bare);

    // Slow enough to watch the blue-green steps go by.
    const sim = simulateLiveApps(
      { kube, argo, env },
      ['web'],
      { tag: 'v0.9.0', message: 'deploy web ghcr.io/acme/web:v0.9.0' },
      { stepMs: 300 },
    );

    const shipgateEnv: Record<string, string> = {
      ...standInShipgateEnv({ dir, privateKey, github, slack, argo, kube }),
      // Console sign-in through the stand-in's OAuth flow; SHIPGATE_PUBLIC_URL is set once the port is known.
      GITHUB_OAUTH_CLIENT_ID: github.oauth.clientId,
      GITHUB_OAUTH_CLIENT_SECRET: github.oauth.clientSecret,
      SHIPGATE_SESSION_SECRET: randomBytes(32).toString('hex'),
    };

    return {
      dir,
      app,
      env,
      github,
      argo,
      kube,
      slack,
      sim,
      shipgateEnv,
      publishApp() {
        const sha = git(app.work, ['rev-parse', 'HEAD']);
        // Shipgate fetches the commit over git, and reads files through the contents API.
        git(app.work, ['push', '-q', 'origin', 'HEAD']);
        for (const [file, content] of Object.entries(filesOf(app.work)))
          github.setFile('acme', 'web', sha, file, content);
        return sha;
      },
      close: standIns.close,
    };
  } catch (err) {
    await standIns.close();
    throw err;
  }
}
