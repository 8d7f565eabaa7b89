// What the built site holds and how it is delivered, shared by the Vite build (vite.config.mjs),
// the server `npm start` runs (scripts/serve.mjs) and the tests: the zoo files the demos
// fetch (listed from models/manifest.json, nothing else of models/), precompressed copies
// of every file that compresses, the service worker's precache list versioned by a hash of
// the site, and the check that nothing else landed in dist/.
import { createHash } from 'node:crypto';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

export const ROOT = new URL('../', import.meta.url).pathname;
export const MODELS = join(ROOT, 'models');

/** Every zoo file a demo fetches, relative to models/ (and so to the site). */
export function zooFiles() {
  const manifest = JSON.parse(readFileSync(join(MODELS, 'manifest.json'), 'utf8'));
  const files = new Set(['manifest.json']);
  for (const d of manifest.datasets) {
    for (const set of [d.audit, d.population]) for (const key of ['features', 'labels', 'ids']) files.add(set[key]);
    for (const t of d.targets) {
      files.add(t.model);
      files.add(t.members);
    }
    for (const r of d.reference_sets) {
      files.add(r.keep_mask);
      for (const m of r.models) files.add(m.model);
    }
  }
  return [...files].sort();
}

/** Every file under `dir`, relative to it. */
export function filesUnder(dir) {
  const out = [];
  const walk = (at) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.push(relative(dir, path));
    }
  };
  walk(dir);
  return out.sort();
}

/** Files worth serving compressed, and the smallest gain that keeps a compressed copy. */
const COMPRESSIBLE = /\.(wasm|js|mjs|css|html|json|svg|npy|txt|onnx|webmanifest)$/;
const WORTH = 0.9;

/**
 * Writes `f.br` and `f.gz` beside every compressible file of `dir` whose copy is at most 90%
 * of its size; returns [file, raw, br, gz] for each. The page and the engine get brotli's
 * best (the wasm: 1.75 MB at quality 11, 2.01 MB at 9, in 23 s instead of 1); the zoo, 37 MB
 * fetched only with a demo, a quicker quality.
 */
export function precompress(dir) {
  const sizes = [];
  const zoo = new Set(zooFiles());
  // sw.js stays as it is: a host replaces it alone to roll out a new version.
  for (const file of filesUnder(dir).filter((f) => COMPRESSIBLE.test(f) && f !== 'sw.js')) {
    const path = join(dir, file);
    const raw = readFileSync(path);
    const quality = zoo.has(file) ? 5 : 11;
    const br = brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length } });
    const gz = gzipSync(raw, { level: 9 });
    if (br.length <= raw.length * WORTH) writeFileSync(`${path}.br`, br);
    if (gz.length <= raw.length * WORTH) writeFileSync(`${path}.gz`, gz);
    sizes.push([file, raw.length, br.length, gz.length]);
  }
  return sizes;
}

/** Copies the zoo files the demos fetch into `dir`. */
export function copyZoo(dir) {
  for (const file of zooFiles()) {
    const to = join(dir, file);
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(join(MODELS, file), to);
  }
}

/** Hashed build outputs (`assets/name-HASH.ext`): cacheable for ever. */
export const IMMUTABLE = /^assets\/.+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

/**
 * The service worker's lists: the shell (page, engine, styles) cached when it installs, the
 * zoo cached in the background once the page is idle, and the version both are cached under.
 */
export function precacheLists(dir) {
  const site = filesUnder(dir).filter((f) => !/\.(br|gz)$/.test(f) && f !== 'sw.js');
  const zoo = new Set(zooFiles());
  const shell = site.filter((f) => !zoo.has(f));
  const hash = createHash('sha256');
  for (const f of site) hash.update(f).update(readFileSync(join(dir, f)));
  return { version: hash.digest('hex').slice(0, 16), shell: ['./', ...shell], zoo: [...zoo] };
}

/** Files a build may leave in dist/ besides the ones it writes itself. */
export function unexpectedFiles(dir) {
  const zoo = new Set(zooFiles());
  const ok = (f) => {
    const base = f.replace(/\.(br|gz)$/, '');
    return zoo.has(base) || base === 'index.html' || base === 'sw.js' || base === 'favicon.svg' || IMMUTABLE.test(base);
  };
  return filesUnder(dir).filter((f) => !ok(f));
}

/** Writes dist/sw.js from www/sw.js with the precache lists filled in. */
export function writeServiceWorker(dir) {
  const lists = precacheLists(dir);
  const source = readFileSync(join(ROOT, 'www', 'sw.js'), 'utf8');
  const filled = source.replace('self.__PRECACHE__', JSON.stringify(lists));
  if (filled === source) throw new Error('www/sw.js lost its self.__PRECACHE__ placeholder');
  writeFileSync(join(dir, 'sw.js'), filled);
  return lists;
}

export function removeIfPresent(path) {
  if (existsSync(path)) rmSync(path, { recursive: true });
}
