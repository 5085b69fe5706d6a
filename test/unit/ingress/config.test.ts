import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
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
const base = { GITHUB_WEBHOOK_SECRET: 's1' };

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
    expect(loadConfig({ GITHUB_WEBHOOK_SECRET: 'new, old ,' }, 'serve').github.webhookSecrets).toEqual([
      'new',
      'old',
    ]);
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
