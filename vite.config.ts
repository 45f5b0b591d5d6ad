import { readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/** Names this build (the service worker's version: a new build installs a new worker). */
const build = process.env.VITE_LCP_BUILD ?? Date.now().toString(36);
process.env.VITE_LCP_BUILD = build;

/** Every file under `dir`, relative to it, with '/' separators. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split('\\').join('/'));
}

/**
 * precache.json: what the service worker keeps for offline use — the app page, its scripts,
 * styles, WASM, fonts (woff2, which every browser that runs the app reads) and data. The
 * benchmark page and the service worker itself are left out.
 */
function precacheList(): Plugin {
  return {
    name: 'lcp-precache-list',
    apply: 'build',
    generateBundle(_, bundle) {
      const publicFiles = filesUnder(resolve(import.meta.dirname, 'public'));
      const files = [...Object.keys(bundle), ...publicFiles].filter(
        (f) =>
          !/(^|\/)bench[.-]/.test(f) &&
          f !== 'coi-sw.js' &&
          !/\.(ttf|woff)$/.test(f) &&
          !f.endsWith('.html') &&
          !f.endsWith('.map'),
      );
      this.emitFile({
        type: 'asset',
        fileName: 'precache.json',
        source: JSON.stringify(['./', 'index.html', ...files.sort()]),
      });
    },
  };
}

// Cross-origin isolation (SharedArrayBuffer for the WASM kernel's threads): the dev and preview
// servers send the headers themselves; a plain static host gets them from public/coi-sw.js.
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// Relative base so that dist/ works from any static file server and any sub-path.
// Two pages: the app (index.html) and the engine benchmark (bench.html, used by `npm run bench`
// and the end-to-end kernel test).
export default defineConfig({
  base: './',
  plugins: [react(), precacheList()],
  worker: { format: 'es' },
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
  build: {
    target: 'es2022',
    // No source maps in what is published (they doubled its size); `vite` in development has them.
    sourcemap: false,
    // The main thread's bundle (React, D3, KaTeX, the schema) is ~0.75 MB on purpose: it holds no
    // TensorFlow.js, which only the engine's worker loads (see docs/performance.md).
    chunkSizeWarningLimit: 1024,
    rollupOptions: {
      input: {
        index: resolve(import.meta.dirname, 'index.html'),
        bench: resolve(import.meta.dirname, 'bench.html'),
      },
    },
  },
});
