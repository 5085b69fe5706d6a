import { RequestError } from '@octokit/request-error';
import { describe, expect, it } from 'vitest';
import { scrubSecrets, toGithubError } from '../../../src/github/github-error.js';

const request = {
  method: 'POST' as const,
  url: 'https://api.github.com/repos/o/r/check-runs',
  headers: { authorization: 'token ghs_16C7e42F292c6912E7710c838347Ae178B4a' },
};

function requestError(status: number, data: unknown, headers: Record<string, string> = {}) {
  const message = typeof data === 'object' && data && 'message' in data ? String(data.message) : 'x';
  return new RequestError(message, status, {
    request,
    response: { status, url: request.url, headers, data },
  });
}

describe('toGithubError', () => {
  it.each([
    [500, 'SHIPGATE_E_GITHUB_UNAVAILABLE', true],
    [502, 'SHIPGATE_E_GITHUB_UNAVAILABLE', true],
    [401, 'SHIPGATE_E_GITHUB_AUTH', false],
    [403, 'SHIPGATE_E_GITHUB_AUTH', false],
    [404, 'SHIPGATE_E_GITHUB_NOT_FOUND', false],
    [409, 'SHIPGATE_E_GITHUB_REJECTED', false],
    [422, 'SHIPGATE_E_GITHUB_REJECTED', false],
    [429, 'SHIPGATE_E_GITHUB_RATE_LIMITED', true],
  ])('maps %i to %s (retryable %s)', (status, code, retryable) => {
    const err = toGithubError('op', requestError(status, { message: 'Nope' }));
    expect(err).toMatchObject({ code, retryable });
    expect(err.details).toMatchObject({ operation: 'op', status });
  });

  it('treats a 403 with an exhausted rate limit as retryable', () => {
    const err = toGithubError(
      'op',
      requestError(403, { message: 'API rate limit exceeded' }, { 'x-ratelimit-remaining': '0' }),
    );
    expect(err.code).toBe('SHIPGATE_E_GITHUB_RATE_LIMITED');
    expect(err.retryable).toBe(true);
  });

  it('treats a failure without a response (network, timeout) as a retryable outage', () => {
    const network = new RequestError('connect ECONNREFUSED 127.0.0.1:1', 500, { request });
    expect(toGithubError('op', network)).toMatchObject({
      code: 'SHIPGATE_E_GITHUB_UNAVAILABLE',
      retryable: true,
    });
    expect(toGithubError('op', new TypeError('fetch failed')).retryable).toBe(true);
  });

  it('keeps GitHub validation details and never the token or the raw error', () => {
    const err = toGithubError(
      'op',
      requestError(422, {
        message: 'Validation Failed',
        errors: [
          { resource: 'PullRequest', code: 'custom', message: 'A pull request already exists for o:b.' },
        ],
      }),
    );
    expect(err.message).toContain('Validation Failed: A pull request already exists for o:b.');
    expect(err.cause).toBeUndefined();
    expect(JSON.stringify(err)).not.toContain('ghs_');
  });
});

describe('scrubSecrets', () => {
  it('removes GitHub tokens, JWTs and credentials after an auth scheme', () => {
    const text =
      'token ghs_16C7e42F292c6912E7710c838347Ae178B4a and ghp_abcdefghijklmnopqrstuvwxyz0123456789 ' +
      'Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOjF9.c2lnbmF0dXJlc2lnbmF0dXJl ' +
      'v1.0123456789abcdef0123456789abcdef01234567';
    const out = scrubSecrets(text);
    expect(out).not.toMatch(/ghs_|ghp_|eyJ|v1\.0123/);
  });

  it('leaves ordinary prose alone', () => {
    expect(scrubSecrets('A JSON web token could not be decoded')).toBe(
      'A JSON web token could not be decoded',
    );
  });
});
