// The page is www/. The build copies beside it only the zoo files the demos fetch (listed
// from models/manifest.json), writes the service worker with its precache list, precompresses
// every file that compresses (gzip and brotli), and fails if anything else lands in dist/
// (scripts/site.mjs). In development the zoo is served straight from models/.
import { defineConfig } from 'vite';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { MODELS, ROOT, copyZoo, precompress, unexpectedFiles, writeServiceWorker, zooFiles } from './scripts/site.mjs';

const DIST = join(ROOT, 'dist');

function site() {
  return {
    name: 'mialab-site',
    configureServer(server) {
      const zoo = new Set(zooFiles());
      server.middlewares.use((req, res, next) => {
        const path = decodeURIComponent((req.url || '').split('?')[0]).replace(/^\//, '');
        if (!zoo.has(path) || !existsSync(join(MODELS, path))) return next();
        createReadStream(join(MODELS, path)).pipe(res);
      });
    },
    closeBundle() {
      copyZoo(DIST);
      const { version, shell, zoo } = writeServiceWorker(DIST);
      precompress(DIST);
      const stray = unexpectedFiles(DIST);
      if (stray.length) throw new Error(`dist/ holds files the page never fetches: ${stray.join(', ')}`);
      console.log(`site ${version}: ${shell.length} shell files, ${zoo.length} zoo files, precompressed`);
    },
  };
}

export default defineConfig({
  root: 'www',
  base: './',
  build: { outDir: '../dist', emptyOutDir: true, target: 'es2022' },
  worker: { format: 'es' },
  plugins: [site()],
});
