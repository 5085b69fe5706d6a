import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PIPELINE_CONFIG_FILE } from '../pipeline/index.js';
import { POLICY_FILE_PATH } from '../policy/index.js';
import type { Command } from './command.js';

/**
 * Where editors fetch the JSON Schemas from. The files are generated from the zod schemas into
 * schemas/ (a unit test keeps them fresh); the image is ghcr.io/shipgate/shipgate, so the
 * repository is shipgate/shipgate. `--schema` points a file elsewhere (a fork, a local path).
 */
export const PUBLISHED_SCHEMAS = 'https://raw.githubusercontent.com/shipgate/shipgate/main/schemas';

const USAGE = `shipgate init app <dir> [--name <app>] [--image <repository>] [--schema <url|path>] [--force]
       shipgate init env-repo <dir> [--org <github-org>] [--schema <url|path>] [--force]`;

/**
 * `shipgate init`: starter files that `shipgate validate` accepts as written, with a comment on
 * every line a person must decide. Never overwrites a file unless `--force` says so.
 */
export const initCommand: Command = {
  name: 'init',
  summary: 'write a starter .shipgate.yml (app) or shipgate/policy.yml (env-repo)',
  usage: `${USAGE}
  app       writes <dir>/${PIPELINE_CONFIG_FILE} with the JSON Schema reference for editor completion
  env-repo  writes <dir>/${POLICY_FILE_PATH}, the platform policy, with comments
  Check the result with \`shipgate validate\`.`,
  examples: [
    'shipgate init app . --name web-shop --image ghcr.io/acme/web-shop',
    'shipgate init env-repo ../env-repo',
  ],
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: {
        name: { type: 'string' },
        image: { type: 'string' },
        org: { type: 'string' },
        schema: { type: 'string' },
        force: { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    });
    const [what, dir, extra] = positionals;
    if ((what !== 'app' && what !== 'env-repo') || dir === undefined || extra !== undefined) {
      console.error(`Usage: ${USAGE}`);
      return 2;
    }
    let file: string;
    let text: string;
    if (what === 'app') {
      const name = values.name ?? dnsLabelFrom(path.basename(path.resolve(dir)));
      if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) {
        console.error(
          `shipgate: --name ${JSON.stringify(name)} must be a DNS label (lowercase letters, digits, "-")`,
        );
        return 2;
      }
      file = path.join(dir, PIPELINE_CONFIG_FILE);
      text = starterPipeline(
        name,
        values.image ?? `ghcr.io/your-org/${name}`,
        values.schema ?? `${PUBLISHED_SCHEMAS}/shipgate.schema.json`,
      );
    } else {
      const org = values.org ?? 'your-org';
      if (!/^[A-Za-z0-9_.-]+$/.test(org)) {
        console.error(`shipgate: --org ${JSON.stringify(org)} must be a GitHub organisation name`);
        return 2;
      }
      file = path.join(dir, POLICY_FILE_PATH);
      text = starterPolicy(org, values.schema ?? `${PUBLISHED_SCHEMAS}/shipgate-policy.schema.json`);
    }
    if (existsSync(file) && !values.force) {
      console.error(`shipgate: ${file} already exists: not overwritten (add --force to replace it)`);
      return 1;
    }
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
    console.log(`wrote ${file}: edit the lines marked CHANGE, then run \`shipgate validate ${file}\``);
    return 0;
  },
};

function dnsLabelFrom(name: string): string {
  const label = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return label === '' ? 'app' : label;
}

function starterPipeline(app: string, image: string, schema: string): string {
  return `# yaml-language-server: $schema=${schema}
# Shipgate pipeline: read from the default branch of this repo at every pull request and release
# tag. Check it locally with \`shipgate validate ${PIPELINE_CONFIG_FILE}\`.
version: 1
app: ${app} # the platform policy must grant this app name to this repo

image:
  repository: ${image} # CHANGE: the image a release deploys, without tag or digest
  tag: '{tag}' # the image tag of a release: {tag}, {version} (tag without "v"), {sha}, {shortSha}

test:
  image: node:24-bookworm-slim # CHANGE: the image the tests run in
  command: npm ci && npm test # CHANGE: a string runs with sh -c; a list runs without a shell
  timeoutSeconds: 900

scan:
  trivy:
    failOn: [CRITICAL, HIGH] # these severities fail the gate
  zap:
    failThreshold: High # alerts of this risk or higher on the blue-green preview fail the gate

manifests: # CHANGE: one kustomize overlay (or directory: of plain YAML) per environment
  staging:
    kustomize: deploy/overlays/staging
  production:
    kustomize: deploy/overlays/production

environments: # promotion order; the policy decides which of them this repo may reach
  - staging
  - production
`;
}

function starterPolicy(org: string, schema: string): string {
  return `# yaml-language-server: $schema=${schema}
# Shipgate platform policy: which repos may deploy where, who approves, and when nothing ships.
# Shipgate reads it from this env repo's default branch. App repos can narrow it, never widen it.
# Check it locally with \`shipgate validate ${POLICY_FILE_PATH}\`.
version: 1
releaseTagPattern: 'v*' # tags that start a release ("*" matches anything)
forkPullRequests: none # none: no run for forks; checks-only: Trivy fs and the manifest diff, never the tests

notifications:
  channel: C0000000000 # CHANGE: the Slack channel id (not #name) for release threads and approvals

repos:
  allow: # the last matching pattern wins; a repo that matches none gets no run at all
    - ${org}/*
  grants: # which app each repo releases, and the folder of this env repo it may write
    ${org}/web-shop: # CHANGE: one entry per app repo
      app: web-shop # must equal "app" in that repo's .shipgate.yml
      environments:
        staging:
          path: apps/web-shop/staging
        production:
          path: apps/web-shop/production

environments:
  staging:
    namespace: apps-staging # every namespaced object of a release must be in this namespace
    requireBlueGreen: true # Rollouts must be blue-green, so the preview can be scanned and tested
  production:
    namespace: apps-production
    requireBlueGreen: true
    approval:
      approvers:
        users: [U0000000000] # CHANGE: Slack user ids who may approve production releases
      required: 1 # distinct approvals needed
      releaserMayApprove: false # whoever pushed the tag cannot approve their own release
    freezeWindows: # CHANGE or remove: no production releases at weekends
      - days: [sat, sun]
        from: '00:00'
        to: '23:59'
        timeZone: UTC
        reason: weekend

identities: {} # GitHub login: Slack user id, so Slack can name who released
`;
}
