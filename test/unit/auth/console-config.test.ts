import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';

const BASE = { GITHUB_WEBHOOK_SECRET: 'unit-webhook-secret-0123456789' };
const CONSOLE = {
  SHIPGATE_PUBLIC_URL: 'https://shipgate.example.com/',
  GITHUB_OAUTH_CLIENT_ID: 'Iv1.0123456789abcdef',
  GITHUB_OAUTH_CLIENT_SECRET: 'oauth-client-secret-0123456789abcdef',
  SHIPGATE_SESSION_SECRET: 'f3a9c1d27e5b48a6c0d9e2f1b7a4c8d3e6f0a1b2',
};

describe('console configuration', () => {
  it('is off when none of its variables is set', () => {
    expect(loadConfig(BASE, 'serve').console).toBeUndefined();
  });

  it('is on with all of them: Secure cookies behind https, GitHub web host from the API URL', () => {
    const c = loadConfig(
      { ...BASE, ...CONSOLE, GITHUB_API_URL: 'https://ghe.acme.test/api/v3' },
      'serve',
    ).console!;
    expect(c).toMatchObject({
      publicUrl: 'https://shipgate.example.com',
      githubWebUrl: 'https://ghe.acme.test',
      sessionTtlHours: 12,
      secureCookies: true,
    });
    expect(loadConfig({ ...BASE, ...CONSOLE }, 'serve').console!.githubWebUrl).toBe('https://github.com');
  });

  it('refuses a partial configuration, naming what is missing, and a short session secret', () => {
    const { SHIPGATE_SESSION_SECRET: _omit, ...partial } = CONSOLE;
    expect(() => loadConfig({ ...BASE, ...partial }, 'serve')).toThrow(/SHIPGATE_SESSION_SECRET/);
    expect(() =>
      loadConfig({ ...BASE, ...CONSOLE, SHIPGATE_SESSION_SECRET: 'short-but-16-chars-x' }, 'serve'),
    ).toThrow(/at least 32 characters/);
    expect(() => loadConfig({ ...BASE, ...CONSOLE, SHIPGATE_SESSION_TTL_HOURS: '0' }, 'serve')).toThrow(
      /SHIPGATE_SESSION_TTL_HOURS/,
    );
  });

  it('never shows the OAuth client secret or the session secret when inspected', async () => {
    const { inspect } = await import('node:util');
    const text = inspect(loadConfig({ ...BASE, ...CONSOLE }, 'serve'), { depth: 5 });
    expect(text).not.toContain(CONSOLE.GITHUB_OAUTH_CLIENT_SECRET);
    expect(text).not.toContain(CONSOLE.SHIPGATE_SESSION_SECRET);
  });
});
