import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';

const pem = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
}).privateKey;
const SECRET = 'config-test-webhook-secret-1';
const base = { GITHUB_WEBHOOK_SECRET: SECRET };

function errorOf(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected a throw');
}

describe('loadConfig', () => {
  it('refuses to start without a webhook secret', () => {
    for (const value of [undefined, '', ' ', ',,']) {
      const err = errorOf(() => loadConfig({ GITHUB_WEBHOOK_SECRET: value }, 'serve'));
      expect(err.code).toBe('SHIPGATE_E_CONFIG_INVALID');
      expect(err.message).toMatch(/^GITHUB_WEBHOOK_SECRET: /);
      expect(err.message).not.toContain('\n');
    }
  });

  it('reads a comma-separated list of secrets for rotation', () => {
    const secrets = loadConfig(
      { GITHUB_WEBHOOK_SECRET: 'new-webhook-secret-0001, old-webhook-secret-0002 ,' },
      'serve',
    ).github.webhookSecrets;
    expect(secrets).toEqual(['new-webhook-secret-0001', 'old-webhook-secret-0002']);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['REDIS_URL', 'not a url'],
    ['GITHUB_API_URL', 'ftp://ghe.example'],
    ['GITHUB_APP_ID', 'my-app'],
    ['LOG_LEVEL', 'loud'],
    ['SHIPGATE_EXECUTOR', 'docker'],
    ['SHIPGATE_API_TOKEN', 'short'],
    ['GITHUB_PRIVATE_KEY', 'not a key'],
    ['GITHUB_PRIVATE_KEY_PATH', '/nonexistent/key.pem'],
    ['SHIPGATE_QUEUE_PREFIX', '{shipgate}'],
    ['SHIPGATE_QUEUE_PREFIX', 'ship gate'],
  ])('names %s when its value %j is bad', (name, value) => {
    const err = errorOf(() => loadConfig({ ...base, [name]: value }, 'serve'));
    expect(err.code).toBe('SHIPGATE_E_CONFIG_INVALID');
    expect(err.message.startsWith(`${name}: `)).toBe(true);
    if (name === 'GITHUB_PRIVATE_KEY') expect(err.message).not.toContain(value);
  });

  it('requires the App for workers but not for serve', () => {
    expect(() => loadConfig(base, 'serve')).not.toThrow();
    expect(errorOf(() => loadConfig(base, 'work')).message).toMatch(/^GITHUB_APP_ID: /);
    expect(errorOf(() => loadConfig({ ...base, GITHUB_APP_ID: '1' }, 'start')).message).toMatch(
      /^GITHUB_PRIVATE_KEY: /,
    );
  });

  it('supports GitHub Enterprise Server and keeps the private key out of inspection', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-config-'));
    const file = path.join(dir, 'key.pem');
    writeFileSync(file, pem);
    const config = loadConfig(
      {
        ...base,
        GITHUB_APP_ID: '12',
        GITHUB_PRIVATE_KEY_PATH: file,
        GITHUB_API_URL: 'https://ghe.example/api/v3/',
      },
      'work',
    );
    expect(config.github.apiUrl).toBe('https://ghe.example/api/v3');
    expect(config.github.privateKey).toBe(pem);
    expect(inspect(config, { depth: 5 })).not.toContain('PRIVATE KEY');
    const inline = loadConfig(
      { ...base, GITHUB_APP_ID: '12', GITHUB_PRIVATE_KEY: pem.replace(/\n/g, '\\n') },
      'work',
    );
    expect(inline.github.privateKey).toBe(pem);
  });

  it('leaves REDIS_URL unset for the embedded default and is frozen', () => {
    const config = loadConfig(base, 'serve');
    expect(config.redisUrl).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });
});

describe('operator commands', () => {
  it('need no webhook secret, while every server role still refuses to start without one', async () => {
    const { loadConfig } = await import('../../../src/config.js');
    expect(loadConfig({}, 'cli').github.webhookSecrets).toEqual([]);
    for (const role of ['serve', 'work', 'start'] as const) {
      expect(() =>
        loadConfig({ GITHUB_APP_ID: '1', GITHUB_PRIVATE_KEY: '-----BEGIN RSA PRIVATE KEY-----\nx' }, role),
      ).toThrow(/GITHUB_WEBHOOK_SECRET/);
    }
  });
});

describe('placeholder and short secrets', () => {
  const SECRETS = [
    'GITHUB_WEBHOOK_SECRET',
    'SLACK_SIGNING_SECRET',
    'SHIPGATE_API_TOKEN',
    'SLACK_BOT_TOKEN',
    'ARGOCD_TOKEN',
  ];

  it.each([
    ['change-me', /is a placeholder \(it contains "changeme"\)/],
    ['CHANGE_ME_PLEASE_0123456789', /is a placeholder \(it contains "changeme"\)/],
    ['replace-me-with-openssl-rand-hex-32', /is a placeholder \(it contains "replaceme"\)/],
    ['<your-webhook-secret>', /is a placeholder \(it contains "yoursecret"\)|is a template/],
    ['${WEBHOOK_SECRET_FROM_VAULT}', /is a template, not a value/],
    ['fifteen-chars!!', /is shorter than 16 characters/],
    ['aaaaaaaaaaaaaaaaaaaaaaaa', /uses fewer than 5 different characters/],
  ])('refuses %j in every secret variable, in one line that does not repeat it', (value, reason) => {
    for (const name of SECRETS) {
      const env = {
        ...base,
        ARGOCD_SERVER: 'https://argocd.example',
        ARGOCD_TOKEN: 'argocd-token-0123456789abcdef',
        [name]: value,
      };
      const err = errorOf(() => loadConfig(env, 'serve'));
      expect(err.code).toBe('SHIPGATE_E_CONFIG_INVALID');
      expect(err.message.startsWith(`${name}: `), err.message).toBe(true);
      expect(err.message).toMatch(reason);
      expect(err.message).toContain('openssl rand -hex 32');
      expect(err.message).not.toContain(value);
      expect(err.message).not.toContain('\n');
    }
  });

  it('accepts 16 characters of some variety in every secret variable', () => {
    for (const name of SECRETS) {
      const env = {
        ...base,
        ARGOCD_SERVER: 'https://argocd.example',
        ARGOCD_TOKEN: 'argocd-token-0123456789abcdef',
      };
      expect(() => loadConfig({ ...env, [name]: 's3cr3t-but-short' }, 'serve'), name).not.toThrow();
    }
  });

  it('names the weak entry of a rotation list by its position', () => {
    const err = errorOf(() => loadConfig({ GITHUB_WEBHOOK_SECRET: `${SECRET},short` }, 'serve'));
    expect(err.message).toBe(
      'GITHUB_WEBHOOK_SECRET: secret 2 of 2 is shorter than 16 characters: generate one with `openssl rand -hex 32`',
    );
  });

  it('refuses the placeholder that .env.example ships, until it is replaced', () => {
    const example = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');
    const env = Object.fromEntries(
      example
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    expect(env.GITHUB_WEBHOOK_SECRET).toBeDefined();
    // The key file it names does not exist here; the secret is what this test is about.
    delete env.GITHUB_PRIVATE_KEY_PATH;
    expect(errorOf(() => loadConfig(env, 'serve')).message).toMatch(
      /^GITHUB_WEBHOOK_SECRET: is a placeholder/,
    );
    expect(() => loadConfig({ ...env, GITHUB_WEBHOOK_SECRET: SECRET }, 'serve')).not.toThrow();
  });
});

describe('a partial deploy configuration', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'shipgate-deploy-config-'));
  const kubeconfig = path.join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: []\n');
  const app = { ...base, GITHUB_APP_ID: '12', GITHUB_PRIVATE_KEY: pem, ENV_REPO: 'acme/environments' };
  const TOKEN = 'argocd-token-0123456789abcdef';
  const SERVER = 'https://argocd.example';

  it.each([
    [
      'ARGOCD_SERVER without ARGOCD_TOKEN',
      { ARGOCD_SERVER: SERVER, KUBECONFIG: kubeconfig },
      /^ARGOCD_TOKEN: is required with ARGOCD_SERVER/,
    ],
    [
      'ARGOCD_TOKEN without ARGOCD_SERVER',
      { ARGOCD_TOKEN: TOKEN, KUBECONFIG: kubeconfig },
      /^ARGOCD_SERVER: is required with ARGOCD_TOKEN/,
    ],
    [
      'the token under the argocd CLI name',
      { ARGOCD_SERVER: SERVER, ARGOCD_AUTH_TOKEN: TOKEN, KUBECONFIG: kubeconfig },
      /^ARGOCD_AUTH_TOKEN: is the argocd CLI's variable and Shipgate does not read it: put the token in ARGOCD_TOKEN$/,
    ],
    [
      'two different tokens',
      {
        ARGOCD_SERVER: SERVER,
        ARGOCD_TOKEN: TOKEN,
        ARGOCD_AUTH_TOKEN: `${TOKEN}-other`,
        KUBECONFIG: kubeconfig,
      },
      /^ARGOCD_AUTH_TOKEN: differs from ARGOCD_TOKEN/,
    ],
    [
      'Argo CD without a kubeconfig',
      { ARGOCD_SERVER: SERVER, ARGOCD_TOKEN: TOKEN },
      /^KUBECONFIG: is required with ARGOCD_SERVER outside a cluster/,
    ],
    [
      'Argo CD with a half in-cluster environment (no service account token)',
      {
        ARGOCD_SERVER: SERVER,
        ARGOCD_TOKEN: TOKEN,
        KUBERNETES_SERVICE_HOST: '10.0.0.1',
        KUBERNETES_SERVICE_PORT: '443',
      },
      /^KUBECONFIG: is required with ARGOCD_SERVER outside a cluster/,
    ],
    [
      'a kubeconfig that does not exist',
      { ARGOCD_SERVER: SERVER, ARGOCD_TOKEN: TOKEN, KUBECONFIG: path.join(dir, 'missing') },
      /^KUBECONFIG: cannot read .*missing: ENOENT$/,
    ],
    [
      'an Argo CD CA file that does not exist',
      {
        ARGOCD_SERVER: SERVER,
        ARGOCD_TOKEN: TOKEN,
        KUBECONFIG: kubeconfig,
        ARGOCD_CA_FILE: path.join(dir, 'ca.pem'),
      },
      /^ARGOCD_CA_FILE: cannot read .*ca\.pem: ENOENT$/,
    ],
    [
      'Argo CD without an env repo to commit to',
      { ARGOCD_SERVER: SERVER, ARGOCD_TOKEN: TOKEN, KUBECONFIG: kubeconfig, ENV_REPO: '' },
      /^ENV_REPO: is required with ARGOCD_SERVER/,
    ],
    [
      'the kubernetes executor without a kubeconfig',
      { SHIPGATE_EXECUTOR: 'kubernetes' },
      /^KUBECONFIG: is required with SHIPGATE_EXECUTOR=kubernetes/,
    ],
  ] as const)('%s stops every worker role with one line', (_what, extra, message) => {
    for (const role of ['work', 'start'] as const) {
      const err = errorOf(() => loadConfig({ ...app, ...extra }, role));
      expect(err.code).toBe('SHIPGATE_E_CONFIG_INVALID');
      expect(err.message).toMatch(message);
      expect(err.message).not.toContain('\n');
      expect(err.message).not.toContain(TOKEN);
    }
  });

  it('refuses a partial Argo CD pair in serve too, and checks nothing of the cluster there', () => {
    expect(errorOf(() => loadConfig({ ...base, ARGOCD_SERVER: SERVER }, 'serve')).message).toMatch(
      /^ARGOCD_TOKEN: /,
    );
    expect(errorOf(() => loadConfig({ ...base, ARGOCD_AUTH_TOKEN: TOKEN }, 'serve')).message).toMatch(
      /^ARGOCD_AUTH_TOKEN: /,
    );
    expect(() => loadConfig({ ...base, ARGOCD_SERVER: SERVER, ARGOCD_TOKEN: TOKEN }, 'serve')).not.toThrow();
  });

  it('accepts a complete configuration, no deploy configuration at all, and the same token under both names', () => {
    const full = loadConfig(
      { ...app, ARGOCD_SERVER: SERVER, ARGOCD_TOKEN: TOKEN, KUBECONFIG: kubeconfig },
      'work',
    );
    expect(full.argocd).toMatchObject({ server: SERVER, token: TOKEN });
    expect(full.kubeconfig).toBe(kubeconfig);
    expect(loadConfig(app, 'start').argocd.server).toBeUndefined();
    expect(() =>
      loadConfig(
        {
          ...app,
          ARGOCD_SERVER: SERVER,
          ARGOCD_TOKEN: TOKEN,
          ARGOCD_AUTH_TOKEN: TOKEN,
          KUBECONFIG: kubeconfig,
        },
        'work',
      ),
    ).not.toThrow();
  });

  it('leaves operator commands alone: they deploy nothing', () => {
    expect(() => loadConfig({ ARGOCD_SERVER: SERVER, ARGOCD_AUTH_TOKEN: TOKEN }, 'cli')).not.toThrow();
  });
});
