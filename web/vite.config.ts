import path from 'node:path';
import { defineConfig } from 'vite';

/**
 * The console's build: `npm run build:web` writes hashed files to dist/web, which
 * `shipgate serve` serves (src/server/serve-console.ts). Everything is bundled: no CDN, so
 * the console works offline and under a CSP of 'self' only.
 */
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  // The build must not depend on the developer's .env files.
  envDir: false,
  publicDir: false,
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: path.resolve(import.meta.dirname, '../dist/web'),
    emptyOutDir: true,
    assetsDir: 'assets',
    // The bundle-budget test reads the sizes of what the entry pulls in from here.
    manifest: true,
    target: 'es2022',
    sourcemap: false,
    // An inlined asset would be a data: URL the CSP's default-src does not list.
    assetsInlineLimit: 0,
    // Vite's preload polyfill is code we do not need: every supported browser preloads modules.
    modulePreload: { polyfill: false },
  },
});
