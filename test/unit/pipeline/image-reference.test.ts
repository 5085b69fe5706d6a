import { describe, expect, it } from 'vitest';
import { ImageTagInvalid } from '../../../src/errors.js';
import { releaseImageReference, renderImageTag } from '../../../src/pipeline/image-reference.js';
import { parsePipelineConfig } from '../../../src/pipeline/parse-pipeline-config.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';
const DIGEST = `sha256:${'a'.repeat(64)}`;

function configWithTag(tag?: string) {
  const tagLine = tag === undefined ? '' : `\n  tag: ${JSON.stringify(tag)}`;
  const result = parsePipelineConfig(`version: 1
app: web
image:
  repository: registry.example.com:5000/acme/web${tagLine}
test: { image: node:20, command: npm test }
manifests: { staging: { directory: deploy } }
environments: [staging]
`);
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

describe('renderImageTag', () => {
  it.each([
    ['{tag}', 'v1.2.3', 'v1.2.3'],
    ['{version}', 'v1.2.3', '1.2.3'],
    ['{version}', 'version-2', 'version-2'], // only a "v" before a digit is a version prefix
    ['{version}-{shortSha}', 'v2.0.0', `2.0.0-${SHA.slice(0, 7)}`],
    ['sha-{sha}', 'v1', `sha-${SHA}`],
  ])('%s with tag %s gives %s', (template, tag, expected) => {
    expect(renderImageTag(template, { tag, sha: SHA })).toBe(expected);
  });

  it('refuses a git tag that is not a valid image tag', () => {
    expect(() => renderImageTag('{tag}', { tag: 'release/1.0', sha: SHA })).toThrow(
      expect.objectContaining({ code: ImageTagInvalid.code }),
    );
    expect(() => renderImageTag('{tag}', { tag: `v${'1'.repeat(200)}`, sha: SHA })).toThrow(/image tag/);
  });
});

describe('releaseImageReference', () => {
  it('pins by digest when known, otherwise by the rendered tag', () => {
    const config = configWithTag('{version}');
    expect(releaseImageReference(config, { tag: 'v3.1.0', sha: SHA })).toBe(
      'registry.example.com:5000/acme/web:3.1.0',
    );
    expect(releaseImageReference(config, { tag: 'v3.1.0', sha: SHA }, DIGEST)).toBe(
      `registry.example.com:5000/acme/web@${DIGEST}`,
    );
    expect(releaseImageReference(configWithTag(), { tag: 'v3.1.0', sha: SHA })).toBe(
      'registry.example.com:5000/acme/web:v3.1.0',
    );
  });

  it('refuses a malformed digest', () => {
    expect(() => releaseImageReference(configWithTag(), { tag: 'v1', sha: SHA }, 'sha256:xyz')).toThrow(
      expect.objectContaining({ code: 'SHIPGATE_E_IMAGE_TAG_INVALID' }),
    );
  });
});
