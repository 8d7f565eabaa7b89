// Browser inference benchmark: in headless Chromium, the zoo's two architectures (the
// Fashion-MNIST CNN and the SUPPORT2 MLP, 8,000 audit records each, batches of 256) on
// mialab's wasm engine (a pool of Web Workers, one wasm instance each, the records split
// between them) and on onnxruntime-web's wasm backend (SIMD, `numThreads` threads; the
// page is cross-origin isolated so that it may use them), at one thread and at every
// core, best of three runs, in one invocation. Prints records/s, GFLOP/s (FLOPs counted
// from the lowered graph), the ratio, the largest difference between the two engines'
// outputs, and both bundles' gzipped sizes.
// Run: npm run wasm && node scripts/bench-browser.mjs [--threads 1,2] [--repeats 3]
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { cpus } from 'node:os';
import { startBenchServer } from './bench-browser/server.mjs';
import { launch } from '../tests/browser/harness.mjs';

const ROOT = new URL('../', import.meta.url).pathname;
const option = (name, fallback) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : fallback);
const cores = cpus().length;
const threadCounts = option('threads', cores > 1 ? `1,${cores}` : '1').split(',').map(Number);
const repeats = Number(option('repeats', '3'));
const MODELS = [
  ['fashion_mnist CNN', 'fashion_mnist'],
  ['support2 MLP', 'support2'],
];

const server = await startBenchServer();
const url = server.url;

const gz = (paths) => paths.reduce((sum, p) => sum + gzipSync(readFileSync(`${ROOT}${p}`), { level: 9 }).length, 0);
const ortDist = 'node_modules/onnxruntime-web/dist/';
const ortVersion = JSON.parse(readFileSync(`${ROOT}node_modules/onnxruntime-web/package.json`, 'utf8')).version;

const browser = await launch();
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error(`page error: ${e}`));
  await page.goto(url);
  await page.waitForSelector('body[data-ready="yes"]');
  console.log(`headless Chromium ${browser.version()}, ${cores} CPU threads (${cpus()[0].model}); 8,000 audit records in batches of 256, best of ${repeats}`);
  console.log(`records/s (GFLOP/s); ratio = mialab / onnxruntime-web ${ortVersion} (wasm backend) at equal threads`);
  console.log(`${'model'.padEnd(18)} ${'threads'.padStart(7)} ${'mialab (wasm)'.padStart(18)} ${'onnxruntime-web'.padStart(18)} ${'ratio'.padStart(7)} ${'max |Δ output|'.padStart(15)}`);
  let engine = '';
  for (const [label, dataset] of MODELS) {
    for (const threads of threadCounts) {
      const r = await page.evaluate((o) => window.bench(o), {
        model: `/models/${dataset}/targets/overfit.onnx`,
        features: `/models/${dataset}/audit_features.npy`,
        threads,
        batch: 256,
        repeats,
        minSeconds: 0.5,
      });
      if (r.outputs[0] !== r.outputs[1]) throw new Error(`${label}: ${r.outputs[0]} outputs from mialab, ${r.outputs[1]} from onnxruntime-web`);
      if (threads > 1 && !r.isolated) throw new Error('the page is not cross-origin isolated: onnxruntime-web would run one thread');
      engine = r.engine;
      const cell = (rate) => `${Math.round(rate)} (${((rate * r.flops) / 1e9).toFixed(1)})`;
      console.log(`${label.padEnd(18)} ${String(threads).padStart(7)} ${cell(r.mialab).padStart(18)} ${cell(r.ort).padStart(18)} ${`${(r.mialab / r.ort).toFixed(2)}×`.padStart(7)} ${r.maxDiff.toExponential(1).padStart(15)}`);
    }
  }
  console.log(`mialab's engine: ${engine}`);
  const ours = gz(['www/pkg/mialab_bg.wasm', 'www/pkg/mialab.js']);
  const theirs = gz([`${ortDist}ort-wasm-simd-threaded.wasm`, `${ortDist}ort-wasm-simd-threaded.mjs`, `${ortDist}ort.wasm.min.mjs`]);
  console.log(`gzipped bundles: mialab ${(ours / 1e6).toFixed(2)} MB (the whole engine: every attack, metric, reader and tract), onnxruntime-web ${(theirs / 1e6).toFixed(2)} MB (wasm backend: inference only)`);
} finally {
  await browser.close();
  server.stop();
}
