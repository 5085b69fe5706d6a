import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigInvalid, PortInUse } from '../errors.js';
import { appManifest, githubBases, manifestPage, newAppUrl } from '../setup/app-manifest.js';
import { convertManifestCode, type ConvertedApp } from '../setup/convert-manifest-code.js';
import type { Command } from './command.js';

interface Files {
  envFile: string;
  keyFile: string;
  force: boolean;
}

/** Refuses before the code is spent (a code works once): an existing .env is never overwritten without --force. */
function checkWritable(files: Files): void {
  if (!files.force && existsSync(files.envFile)) {
    throw ConfigInvalid(
      files.envFile,
      'already exists: move it away, or run shipgate setup again with --force to overwrite it',
    );
  }
}

function writeCredentials(app: ConvertedApp, files: Files, apiUrl: string | undefined): void {
  checkWritable(files);
  // The key first, owner-only, so .env never points at a missing or readable-by-all file.
  writeFileSync(files.keyFile, app.pem, { mode: 0o600 });
  chmodSync(files.keyFile, 0o600);
  const relativeKey = path.relative(path.dirname(path.resolve(files.envFile)), path.resolve(files.keyFile));
  const lines = [
    `# Written by shipgate setup for the GitHub App ${app.slug} (${app.html_url}).`,
    `GITHUB_APP_ID=${app.id}`,
    `GITHUB_WEBHOOK_SECRET=${app.webhook_secret}`,
    `GITHUB_PRIVATE_KEY_PATH=./${relativeKey}`,
    `GITHUB_CLIENT_ID=${app.client_id}`,
    `GITHUB_CLIENT_SECRET=${app.client_secret}`,
    ...(apiUrl === undefined ? [] : [`GITHUB_API_URL=${apiUrl}`]),
    '# Next: the env repo that holds shipgate/policy.yml, then Argo CD and Slack (see .env.example).',
    '# ENV_REPO=owner/environments',
    '',
  ];
  writeFileSync(files.envFile, lines.join('\n'), { mode: 0o600 });
}

function report(app: ConvertedApp, files: Files): void {
  console.log(
    [
      `Created the GitHub App ${app.slug} (id ${app.id}).`,
      `Wrote ${files.envFile} (App id, webhook secret, OAuth client id and secret) and ${files.keyFile} (mode 0600).`,
      `Install it on your app repos and on the env repo: ${app.html_url}/installations/new`,
      'Then: shipgate init env-repo <dir>, shipgate init app <dir>, and npm start.',
    ].join('\n'),
  );
}

export const setupCommand: Command = {
  name: 'setup',
  summary: 'create the GitHub App from a manifest (github.com or GHES) and write .env and its key',
  usage:
    'shipgate setup --webhook-url <https://host/webhooks/github> [--github-url https://ghes.example.com] [--org <org>] [--name Shipgate] [--port 3300] [--force]',
  flags: [
    {
      flag: '--webhook-url <url>',
      description: 'where GitHub sends webhooks (your server, or a smee.io channel)',
    },
    { flag: '--github-url <url>', description: 'a GitHub Enterprise Server (default github.com)' },
    { flag: '--org <org>', description: 'create the App for this organisation (default your account)' },
    { flag: '--name <name>', description: 'the App name, unique on GitHub (default Shipgate)' },
    { flag: '--port <port>', description: 'the local page’s port (default 3300)' },
    { flag: '--code <code>', description: 'skip the page: exchange a code GitHub already gave you' },
    { flag: '--force', description: 'overwrite an existing .env' },
    { flag: '--env-file <path>', description: 'default .env' },
    { flag: '--key-file <path>', description: 'default github-app.private-key.pem' },
  ],
  env: ['GITHUB_API_URL (overrides the API base)'],
  examples: [
    'shipgate setup --webhook-url https://smee.io/AbCdEf123',
    'shipgate setup --github-url https://github.acme.example --org platform --webhook-url https://shipgate.acme.example/webhooks/github',
  ],
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        'webhook-url': { type: 'string' },
        'github-url': { type: 'string' },
        org: { type: 'string' },
        name: { type: 'string', default: 'Shipgate' },
        port: { type: 'string', default: '3300' },
        code: { type: 'string' },
        force: { type: 'boolean', default: false },
        'env-file': { type: 'string', default: '.env' },
        'key-file': { type: 'string', default: 'github-app.private-key.pem' },
      },
      strict: true,
    });
    const files: Files = { envFile: values['env-file'], keyFile: values['key-file'], force: values.force };
    const bases = githubBases(values['github-url']);
    const apiUrl = process.env.GITHUB_API_URL ?? bases.api;
    const ghesApi = apiUrl === 'https://api.github.com' ? undefined : apiUrl;
    checkWritable(files);

    if (values.code !== undefined) {
      const app = await convertManifestCode(apiUrl, values.code);
      writeCredentials(app, files, ghesApi);
      report(app, files);
      return 0;
    }

    const webhookUrl = values['webhook-url'];
    if (webhookUrl === undefined || !/^https?:\/\//.test(webhookUrl)) {
      throw ConfigInvalid(
        '--webhook-url',
        'is required: https://<your host>/webhooks/github, or a channel from https://smee.io/new for a laptop',
      );
    }
    const port = Number(values.port);
    const state = randomBytes(16).toString('hex');
    const local = `http://127.0.0.1:${port}`;
    const manifest = appManifest({
      name: values.name,
      url: 'https://github.com/shipgate',
      webhookUrl,
      redirectUrl: `${local}/callback`,
    });
    const action = newAppUrl(bases.web, values.org, state);

    return new Promise<number>((resolve, reject) => {
      const server = createServer((req, res) => {
        const url = new URL(req.url ?? '/', local);
        if (url.pathname === '/') {
          res
            .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
            .end(manifestPage(action, manifest));
          return;
        }
        if (url.pathname !== '/callback') {
          res.writeHead(404).end();
          return;
        }
        const code = url.searchParams.get('code');
        if (url.searchParams.get('state') !== state || code === null) {
          res
            .writeHead(400, { 'content-type': 'text/plain' })
            .end('This link is not from this shipgate setup.');
          return;
        }
        convertManifestCode(apiUrl, code)
          .then((app) => {
            writeCredentials(app, files, ghesApi);
            res
              .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
              .end(
                `<!doctype html><p>Created ${app.slug}. <a href="${app.html_url}/installations/new">Install it</a>; you can close this tab.</p>`,
              );
            report(app, files);
            server.close();
            resolve(0);
          })
          .catch((err: unknown) => {
            res.writeHead(502, { 'content-type': 'text/plain' }).end((err as Error).message);
            server.close();
            reject(err as Error);
          });
      });
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'EADDRINUSE' ? PortInUse('127.0.0.1', port) : err),
      );
      server.listen(port, '127.0.0.1', () => {
        console.log(`Open ${local} in your browser and press the button to create the App on ${bases.web}.`);
      });
    });
  },
};
