import { describe, expect, it } from 'vitest';
import { GitopsPathUnsafe, GitopsRequestInvalid, GitopsSourceTooLarge } from '../../../src/errors.js';
import { assertRefName } from '../../../src/git/scratch-repo.js';
import { redactCredentials, urlHasCredentials } from '../../../src/git/git-cli.js';
import {
  formatCommitMessage,
  parseTrailers,
  releaseTrailerPairs,
  trailerValue,
  trailerValues,
} from '../../../src/gitops/commit-message.js';
import { pullRequestBranch } from '../../../src/gitops/commit-to-env-repo.js';
import { diffRenderedFiles } from '../../../src/gitops/diff-rendered-files.js';
import { parseManifestDocuments } from '../../../src/gitops/parse-manifest-documents.js';
import { assertSafeRelativePath } from '../../../src/gitops/path-safety.js';
import {
  findContainerImages,
  normalizeRepository,
  parseImageReference,
  pinImage,
  pinnedReference,
} from '../../../src/gitops/pin-image.js';
import { layoutFiles } from '../../../src/gitops/render-manifests.js';

const DIGEST = `sha256:${'d'.repeat(64)}`;

describe('image references', () => {
  it('splits registry ports, tags and digests', () => {
    expect(parseImageReference('localhost:5000/team/app:1.2@' + DIGEST)).toEqual({
      repository: 'localhost:5000/team/app',
      tag: '1.2',
      digest: DIGEST,
    });
    expect(parseImageReference('localhost:5000/team/app')).toEqual({ repository: 'localhost:5000/team/app' });
    expect(parseImageReference('nginx')).toEqual({ repository: 'nginx' });
  });

  it('normalises Docker Hub names the way the runtime does', () => {
    for (const name of [
      'nginx',
      'library/nginx',
      'docker.io/nginx',
      'index.docker.io/library/nginx',
      'NGINX',
    ]) {
      expect(normalizeRepository(name)).toBe('docker.io/library/nginx');
    }
    expect(normalizeRepository('ghcr.io/acme/web')).toBe('ghcr.io/acme/web');
    expect(normalizeRepository('acme/web')).toBe('docker.io/acme/web');
    expect(normalizeRepository('ghcr.io/acme/web')).not.toBe(normalizeRepository('ghcr.io/acme/web-worker'));
  });

  it('pins by digest when known, else by tag', () => {
    expect(pinnedReference({ repository: 'ghcr.io/a/b', tag: '1', digest: DIGEST })).toBe(
      `ghcr.io/a/b@${DIGEST}`,
    );
    expect(pinnedReference({ repository: 'ghcr.io/a/b', tag: '1' })).toBe('ghcr.io/a/b:1');
  });

  it('changes only matching image fields, in every container list and pod template shape', () => {
    const rollout = {
      kind: 'Rollout',
      spec: {
        template: {
          spec: {
            initContainers: [{ name: 'migrate', image: 'acme/web:old' }],
            containers: [
              {
                name: 'web',
                image: 'docker.io/acme/web:old',
                env: [{ name: 'IMAGE', value: 'acme/web:old' }],
              },
              { name: 'sidecar', image: 'acme/web-sidecar:1' },
            ],
            ephemeralContainers: [{ name: 'debug', image: 'acme/web' }],
          },
        },
      },
    };
    expect(pinImage(rollout, { repository: 'acme/web', digest: DIGEST })).toBe(3);
    const images = findContainerImages(rollout).map((f) => f.image);
    expect(images).toEqual([
      `acme/web@${DIGEST}`,
      'acme/web-sidecar:1',
      `acme/web@${DIGEST}`,
      `acme/web@${DIGEST}`,
    ]);
    // Not an image field: left alone.
    expect(rollout.spec.template.spec.containers[0]!.env?.[0]?.value).toBe('acme/web:old');

    const cron = {
      kind: 'CronJob',
      spec: { jobTemplate: { spec: { template: { spec: { containers: [{ image: 'acme/web:1' }] } } } } },
    };
    const pod = { kind: 'Pod', spec: { containers: [{ image: 'acme/web:1' }] } };
    const config = { kind: 'ConfigMap', data: { image: 'acme/web:1' } };
    expect([cron, pod, config].map((o) => pinImage(o, { repository: 'acme/web', tag: '2' }))).toEqual([
      1, 1, 0,
    ]);
  });
});

describe('path safety', () => {
  it('normalises harmless spellings', () => {
    expect(assertSafeRelativePath('./apps//web/staging/')).toBe('apps/web/staging');
  });
  it.each(['../x', 'apps/../../x', '/abs', 'C:/win', 'a\\b', '', '.', 'apps/.git/x', 'a\0b'])(
    'refuses %j',
    (p) => {
      expect(() => assertSafeRelativePath(p)).toThrow(
        expect.objectContaining({ code: GitopsPathUnsafe.code }),
      );
    },
  );
  it('refuses branch names git would misread', () => {
    for (const b of ['-f', 'a..b', 'x.lock', 'a b', 'a//b', '/x', 'refs@{1}']) {
      expect(() => assertRefName(b), b).toThrow(expect.objectContaining({ code: GitopsRequestInvalid.code }));
    }
    expect(() => assertRefName('shipgate/web/production/run-1')).not.toThrow();
    expect(pullRequestBranch('Web App', 'Prod', 'Run/../1')).toBe('shipgate/web-app/prod/run-1');
    expect(() => assertRefName(pullRequestBranch('..', '.lock', '-rf'))).not.toThrow();
  });
  it('keeps credentials out of messages', () => {
    expect(redactCredentials('fatal: https://x-access-token:ghs_abc@github.com/a/b.git not found')).toBe(
      'fatal: https://***@github.com/a/b.git not found',
    );
    expect(urlHasCredentials('https://user:pw@host/x.git')).toBe(true);
    expect(urlHasCredentials('https://host/x.git')).toBe(false);
  });
});

describe('commit messages and trailers', () => {
  it('formats a subject, a body and trailers that round-trip', () => {
    const message = formatCommitMessage({
      subject: 'deploy web 1.2.3 to production',
      body: 'Gates passed.\n\nNot-a-trailer: this paragraph is body text',
      trailers: releaseTrailerPairs({
        shipgateRun: 'run-1',
        sourceRepo: 'acme/web',
        sourceCommit: 'a'.repeat(40),
        image: `ghcr.io/acme/web@${DIGEST}`,
        gates: 'tests=passed trivy=passed',
        approvedBy: ['U1', 'U2'],
      }),
    });
    const trailers = parseTrailers(message);
    expect(trailerValue(trailers, 'shipgate-run')).toBe('run-1');
    expect(trailerValues(trailers, 'Approved-by')).toEqual(['U1', 'U2']);
    expect(trailerValue(trailers, 'Not-a-trailer')).toBeUndefined();
    expect(message.endsWith('Approved-by: U2\n')).toBe(true);
  });

  it('cannot be tricked into extra trailers by newlines in values', () => {
    const message = formatCommitMessage({
      subject: 'x\n\nShipgate-Run: forged',
      trailers: [['Image', 'a\nShipgate-Run: forged']],
    });
    expect(parseTrailers(message)).toEqual([['Image', 'a Shipgate-Run: forged']]);
    expect(() => formatCommitMessage({ subject: 's', trailers: [['Bad Key', 'v']] })).toThrow(/not a token/);
    expect(() => formatCommitMessage({ subject: 's', trailers: [['Image', '\n']] })).toThrow(/empty/);
  });
});

describe('manifest parsing limits', () => {
  it('reports YAML errors with a line and skips empty documents', () => {
    const parsed = parseManifestDocuments('kind: A\n---\n# only a comment\n---\nkind: [unclosed\n', 'x.yaml');
    expect(parsed.documents).toHaveLength(1);
    expect(parsed.issues).toEqual([
      expect.objectContaining({ file: 'x.yaml', documentIndex: 2, line: expect.any(Number) }),
    ]);
  });
  it('refuses oversize input before parsing, and alias bombs while resolving', () => {
    expect(() => parseManifestDocuments('a: 1\n'.repeat(100), 'big.yaml', { maxBytes: 100 })).toThrow(
      expect.objectContaining({ code: GitopsSourceTooLarge.code }),
    );
    const bomb =
      'a: &a [x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c]\n';
    const parsed = parseManifestDocuments(bomb, 'bomb.yaml', { maxAliasCount: 20 });
    expect(parsed.documents).toEqual([]);
    expect(parsed.issues[0]!.message).toMatch(/alias/i);
  });
  it('refuses a non-mapping document', () => {
    expect(parseManifestDocuments('- a\n- b\n', 'list.yaml').issues[0]!.message).toMatch(/mapping/);
  });
});

describe('file layout', () => {
  it('names files <kind>-<name>.yaml, deterministically, with collisions disambiguated', () => {
    const doc = (kind: string, name: string, namespace?: string) => ({
      object: { kind, metadata: { name, ...(namespace ? { namespace } : {}) } },
      sourceFile: 's.yaml',
      documentIndex: 0,
    });
    const files = layoutFiles([
      doc('Service', 'Web_API'),
      doc('Service', 'web-api'),
      doc('Service', 'web_api', 'other'),
      doc('ConfigMap', 'a'),
    ]);
    expect(files.map((f) => f.name)).toEqual([
      'configmap-a.yaml',
      'service-web-api-2.yaml',
      'service-web-api-other.yaml',
      'service-web-api.yaml',
    ]);
    expect(files[0]!.content).toBe('kind: ConfigMap\nmetadata:\n  name: a\n');
  });
});

describe('rendered diffs', () => {
  it('classifies files and cuts to budget, saying what was cut', () => {
    const current = new Map([
      ['a.yaml', 'x: 1\n'],
      ['gone.yaml', 'y: 1\n'],
      ['same.yaml', 'z: 1\n'],
    ]);
    const big = Array.from({ length: 400 }, (_, i) => `k${i}: ${i}`).join('\n') + '\n';
    const diff = diffRenderedFiles(
      'apps/w/prod',
      current,
      [
        { name: 'a.yaml', content: 'x: 2\n' },
        { name: 'b.yaml', content: big },
        { name: 'same.yaml', content: 'z: 1\n' },
      ],
      { maxLinesPerFile: 50, maxChars: 100_000 },
    );
    expect(diff).toMatchObject({
      added: ['b.yaml'],
      changed: ['a.yaml'],
      removed: ['gone.yaml'],
      unchanged: 1,
      truncated: true,
    });
    expect(diff.patch).toContain('--- a/apps/w/prod/a.yaml\n+++ b/apps/w/prod/a.yaml');
    expect(diff.patch).toContain('--- /dev/null\n+++ b/apps/w/prod/b.yaml');
    expect(diff.patch).toMatch(/… \d+ more lines of b\.yaml not shown/);
    expect(diff.patch).toContain('+++ /dev/null');

    const tight = diffRenderedFiles(
      'p',
      new Map(),
      [
        { name: 'a.yaml', content: big },
        { name: 'b.yaml', content: big },
        { name: 'c.yaml', content: big },
      ],
      { maxChars: 500 },
    );
    expect(tight.omitted).toEqual(['b.yaml', 'c.yaml']);
    expect(tight.patch).toContain('2 more changed file(s) not shown: b.yaml, c.yaml');
    expect(tight.patch.length).toBeLessThan(800);
  });
});
