// mialab's wasm engine against onnxruntime-web's wasm backend in the same page (the
// browser inference benchmark's, scripts/bench-browser/): the zoo's CNN and MLP give the
// same outputs for all 8,000 audit records, whether one worker or two share them, and bytes
// that are not a model give a readable message, not a crash.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './harness.mjs';
import { startBenchServer } from '../../scripts/bench-browser/server.mjs';

let server;
let browser;
let page;
before(async () => {
  server = await startBenchServer();
  browser = await launch();
  page = await browser.newPage();
  await page.goto(server.url);
  await page.waitForSelector('body[data-ready="yes"]');
});
after(async () => {
  await browser?.close();
  server?.stop();
});

for (const dataset of ['fashion_mnist', 'support2']) {
  test(`${dataset}: mialab's wasm outputs equal onnxruntime-web's`, { timeout: 300_000 }, async () => {
    for (const threads of [1, 2]) {
      const r = await page.evaluate((o) => window.bench(o), {
        model: `/models/${dataset}/targets/overfit.onnx`,
        features: `/models/${dataset}/audit_features.npy`,
        threads,
        batch: 256,
        repeats: 1,
        minSeconds: 0,
      });
      assert.equal(r.records, 8000);
      assert.equal(r.outputs[0], r.outputs[1], 'as many outputs from each engine');
      assert.ok(r.outputs[0] >= 2 * 8000, `outputs: ${r.outputs}`);
      assert.ok(r.spread > 1, `the outputs vary across records (spread ${r.spread})`);
      assert.match(r.engine, /mialab's CPU kernels/);
      assert.ok(r.maxDiff < 1e-4, `${threads} worker(s): largest difference ${r.maxDiff}`);
      console.log(`# ${dataset}, ${threads} worker(s): mialab ${Math.round(r.mialab)} records/s, onnxruntime-web ${Math.round(r.ort)}; largest difference ${r.maxDiff.toExponential(1)}`);
    }
  });
}

test('bytes that are not ONNX give a readable message', async () => {
  const message = await page.evaluate(() => window.loadError([1, 2, 3, 4, 5]));
  assert.ok(message.length > 0 && !/unreachable|panicked|RuntimeError/i.test(message), message);
  console.log(`# ${message}`);
});
