import { describe, expect, it } from 'vitest';
import { isSameOrInside, normaliseRelativePath } from '../../../src/pipeline/safe-relative-path.js';

describe('normaliseRelativePath', () => {
  it.each([
    ['deploy/staging', 'deploy/staging'],
    ['./deploy//staging/', 'deploy/staging'],
    ['deploy/./staging', 'deploy/staging'],
    ['apps/web-shop@v2/k8s_1.0', 'apps/web-shop@v2/k8s_1.0'],
  ])('%s → %s', (input, output) => {
    expect(normaliseRelativePath(input)).toEqual({ ok: true, path: output });
  });

  it.each([
    ['', 'empty'],
    ['..', '".."'],
    ['a/../b', '".."'],
    ['a/..', '".."'],
    ['/abs', 'absolute'],
    ['C:\\x', '"\\"'],
    ['c:/x', 'drive'],
    ['a\\..\\b', '"\\"'],
    ['a/.GIT/config', '".git"'],
    ['a/b\u0000c', 'control'],
    ['a/b\nc', 'control'],
    ['a/b c', 'may only use'],
    ['a/$HOME', 'may only use'],
    ['a/*', 'may only use'],
    ['x/'.repeat(40), 'segments'],
    ['a'.repeat(600), 'longer'],
  ])('refuses %j (%s)', (input, reason) => {
    const result = normaliseRelativePath(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it('applies the optional rules', () => {
    expect(normaliseRelativePath('.')).toMatchObject({ ok: false });
    expect(normaliseRelativePath('./', { allowRoot: true })).toEqual({ ok: true, path: '.' });
    expect(normaliseRelativePath('.deploy/x')).toEqual({ ok: true, path: '.deploy/x' });
    expect(normaliseRelativePath('.github/workflows', { allowDotSegments: false })).toMatchObject({
      ok: false,
    });
    expect(normaliseRelativePath('reports/*.xml', { allowGlob: true })).toEqual({
      ok: true,
      path: 'reports/*.xml',
    });
  });
});

describe('isSameOrInside', () => {
  it('compares whole segments, not string prefixes', () => {
    expect(isSameOrInside('apps/web', 'apps/web')).toBe(true);
    expect(isSameOrInside('apps/web/staging', 'apps/web')).toBe(true);
    expect(isSameOrInside('apps/web-shop', 'apps/web')).toBe(false);
    expect(isSameOrInside('apps', 'apps/web')).toBe(false);
    expect(isSameOrInside('anything', '.')).toBe(true);
  });
});
