import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The console's first load stays under 150 KB of gzipped JavaScript, and the built page holds
 * nothing the CSP would refuse. The console is built from web/ into a temporary folder with
 * the project's own Vite config, so the test measures the sources as they are.
 */
const ROOT = path.resolve(import.meta.dirname, '../../..');
const BUDGET_GZIP_BYTES = 150 * 1024;
const outDir = mkdtempSync(path.join(tmpdir(), 'shipgate-web-build-'));

interface ManifestChunk {
  file: string;
  isEntry?: boolean;
  imports?: string[];
  css?: string[];
}
let manifest: Record<string, ManifestChunk>;

beforeAll(async () => {
  await build({
    configFile: path.join(ROOT, 'web/vite.config.ts'),
    logLevel: 'silent',
    build: { outDir, emptyOutDir: true },
  });
  manifest = JSON.parse(readFileSync(path.join(outDir, '.vite/manifest.json'), 'utf8')) as Record<
    string,
    ManifestChunk
  >;
}, 120_000);

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

/** The entry and every chunk it imports statically: what the browser fetches before the first paint. */
function firstLoadJs(): string[] {
  const files = new Set<string>();
  const visit = (key: string) => {
    const chunk = manifest[key];
    if (!chunk || files.has(chunk.file)) return;
    files.add(chunk.file);
    for (const next of chunk.imports ?? []) visit(next);
  };
  for (const [key, chunk] of Object.entries(manifest)) if (chunk.isEntry) visit(key);
  return [...files].filter((f) => f.endsWith('.js'));
}

describe('the console build', () => {
  it('loads under 150 KB of gzipped JavaScript at first', () => {
    const files = firstLoadJs();
    expect(files.length).toBeGreaterThan(0);
    const sizes = files.map((f) => gzipSync(readFileSync(path.join(outDir, f)), { level: 9 }).length);
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(total, `first-load JS: ${files.join(', ')} = ${total} bytes gzipped`).toBeLessThan(
      BUDGET_GZIP_BYTES,
    );
  });

  it('writes hashed asset names and a page with no inline script or style', () => {
    const html = readFileSync(path.join(outDir, 'index.html'), 'utf8');
    for (const file of firstLoadJs()) expect(file).toMatch(/^assets\/[\w-]+-[\w-]{8}\.js$/);
    // Every <script> has a src; no style element or attribute: the CSP has no 'unsafe-inline'.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style/);
    expect(html).not.toMatch(/\sstyle=/);
    // Nothing from another origin: the console works offline.
    expect(html).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
  });
});
