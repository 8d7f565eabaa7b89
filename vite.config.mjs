// The page is www/; the bundled model zoo (models/) is served beside it as static files, so
// the demos load from the site itself and the built site works offline from any static host.
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'www',
  publicDir: '../models',
  base: './',
  build: { outDir: '../dist', emptyOutDir: true, target: 'es2022' },
  worker: { format: 'es' },
  preview: { port: 8080, strictPort: true },
});
