import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** Dockerfile instructions with continuation lines joined. No Docker engine runs here, so read it. */
function instructions(): { op: string; args: string }[] {
  const text = readFileSync('Dockerfile', 'utf8').replace(/\\\n/g, ' ');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

describe('Dockerfile', () => {
  const all = instructions();
  const stages = all.filter((i) => i.op === 'FROM');

  it('is multi-stage, with a runtime stage on a Node LTS slim image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const nodeImage = all.find((i) => i.op === 'ARG' && i.args.startsWith('NODE_IMAGE='))?.args;
    expect(nodeImage).toMatch(/^NODE_IMAGE=node:(22|24)-[a-z]+-slim$/);
    expect(stages.at(-1)!.args).toMatch(/\$\{NODE_IMAGE\} AS runtime/);
  });

  it('copies only sources that exist in the build context', () => {
    const dockerignore = readFileSync('.dockerignore', 'utf8');
    for (const copy of all.filter((i) => i.op === 'COPY' && !i.args.includes('--from='))) {
      const parts = copy.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      const sources = parts.slice(0, -1);
      for (const source of sources) {
        expect(existsSync(source), `COPY source ${source}`).toBe(true);
        // .dockerignore starts from "*": every copied path must be allowed back in.
        expect(dockerignore, `.dockerignore lets ${source} in`).toMatch(
          new RegExp(`^!${source.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'),
        );
      }
    }
  });

  it('runs as a non-root user with git, kustomize and an init for signals', () => {
    const runtime = all.slice(all.lastIndexOf(stages.at(-1)!));
    const user = runtime.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(user!.split(':')[0]).not.toMatch(/^(root|0)$/);
    const installs = runtime
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join(' ');
    expect(installs).toMatch(/\bgit\b/);
    expect(installs).toMatch(/\btini\b/);
    expect(runtime.some((i) => i.op === 'COPY' && /kustomize/.test(i.args))).toBe(true);
    expect(runtime.find((i) => i.op === 'ENTRYPOINT')?.args).toMatch(/tini.*dist\/src\/cli\.js/);
    // Neither scanner is baked in: they run as Jobs from their official images.
    expect(installs).not.toMatch(/trivy|zaproxy|zap-baseline/i);
  });

  it('carries the CycloneDX SBOM of its production dependencies at /usr/share/shipgate/sbom.cdx.json', () => {
    const runtimeStart = all.lastIndexOf(stages.at(-1)!);
    const build = all.slice(0, runtimeStart);
    const runtime = all.slice(runtimeStart);
    const pruneAt = build.findIndex((i) => i.op === 'RUN' && /npm prune --omit=dev/.test(i.args));
    const sbomAt = build.findIndex(
      (i) =>
        i.op === 'RUN' && /npm sbom --sbom-format cyclonedx --omit dev > \/app\/sbom\.cdx\.json/.test(i.args),
    );
    expect(pruneAt).toBeGreaterThanOrEqual(0);
    // Taken from the pruned tree, with devDependencies gone from package.json (npm/cli#7909).
    expect(sbomAt).toBeGreaterThan(pruneAt);
    expect(build[sbomAt]!.args).toMatch(/npm pkg delete devDependencies\s*&&\s*npm sbom/);
    expect(
      runtime.some(
        (i) =>
          i.op === 'COPY' &&
          /^--from=build \/app\/sbom\.cdx\.json \/usr\/share\/shipgate\/sbom\.cdx\.json$/.test(i.args),
      ),
    ).toBe(true);
  });

  it('has a HEALTHCHECK on a path the server really serves', () => {
    const healthcheck = all.find((i) => i.op === 'HEALTHCHECK')?.args ?? '';
    const pathMatch = /\/(livez|readyz)/.exec(healthcheck);
    expect(pathMatch).not.toBeNull();
    const serverSources = readFileSync('src/server/ops-routes.ts', 'utf8');
    expect(serverSources).toContain(`'${pathMatch![0]}'`);
    const entrypoint = all.find((i) => i.op === 'ENTRYPOINT')!.args;
    expect(entrypoint).toContain('dist/src/cli.js');
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { bin: Record<string, string> };
    expect(pkg.bin.shipgate).toBe('dist/src/cli.js');
  });
});
