// The GPU path in the browser: with WebGPU enabled (headless Chromium's SwiftShader adapter),
// the page runs a zoo model's lowered kernels through WebGPU and compares them with the CPU engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { unzipSync } from 'fflate';
import { ROOT, useSite, openPage, shot, auditWith, loadDemo, fashionImagesZip } from './harness.mjs';

const site = useSite(['--enable-unsafe-webgpu']);

test('a zoo CNN and its references run through WebGPU with the CPU engine\'s outputs', { timeout: 600_000 }, async () => {
  const { page, errors } = await openPage(site.browser, site.url);
  assert.match(await page.locator('#engine-status').textContent(), /offers WebGPU/);
  await page.selectOption('#demo-select', 'fashion_mnist/overfit');
  await page.click('#demo-load');
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('keep-mask'), null, { timeout: 180_000 });
  await page.click('#webgpu-check');
  await page.waitForFunction(
    () => document.getElementById('webgpu-result').dataset.maxAbsDiff !== undefined || document.getElementById('webgpu-error').textContent.length > 0 || /not used/.test(document.getElementById('webgpu-result').textContent),
    null,
    { timeout: 480_000 },
  );
  assert.equal(await page.locator('#webgpu-error').textContent(), '');
  const result = await page.locator('#webgpu-result').textContent();
  console.log(`# ${result}`);
  assert.match(result, /WebGPU adapter: .*17 models × 200 records in the dispatches conv2d\+activation\+max_pool, conv2d\+activation\+max_pool, dense\+activation, dense: /);
  assert.match(result, /mialab's CPU kernels \(wasm32/);
  assert.match(result, /WebGPU [\d.]+ s \([\d,]+ records×models\/s, [\d.]+ GFLOP\/s, all models per dispatch\)/);
  assert.match(result, /the first \(direct\) kernels [\d,]+ records×models\/s, [\d.]+ GFLOP\/s over the first 20 records/);
  const diff = Number(await page.locator('#webgpu-result').getAttribute('data-max-abs-diff'));
  assert.ok(diff < 1e-3, `largest |WebGPU - CPU| ${diff}`);
  await shot(page, 'webgpu-check', '.engine');
  assert.deepEqual(errors, []);
});

/** Every attack of `gpu` has the AUC of the same attack in `cpu` within 1e-4. */
function assertSameAucs(/** @type {any} */ gpu, /** @type {any} */ cpu) {
  assert.equal(gpu.attacks.length, cpu.attacks.length);
  gpu.attacks.forEach((/** @type {any} */ g, /** @type {number} */ i) => {
    const c = cpu.attacks[i];
    assert.equal(g.id, c.id);
    assert.ok(Math.abs(g.metrics.auc - c.metrics.auc) < 1e-4, `${g.id} AUC on WebGPU ${g.metrics.auc} vs CPU ${c.metrics.auc}`);
  });
}

const ATTACKS = ['loss', 'lira-online', 'rmia-online'];

test('the SUPPORT2 demo audits on WebGPU with the CPU\'s numbers, and auto says why it keeps to the CPU', { timeout: 600_000 }, async () => {
  const { page, errors } = await openPage(site.browser, site.url);
  await loadDemo(page, 'support2/overfit', ATTACKS);
  const cpu = await auditWith(page, 'cpu');
  assert.equal(cpu.model.backend.engine, 'cpu');
  const started = Date.now();
  const gpu = await auditWith(page, 'webgpu');
  console.log(`# WebGPU audit of support2/overfit (17 models): ${((Date.now() - started) / 1000).toFixed(1)} s; ${gpu.model.backend.detail}`);
  assert.equal(gpu.model.backend.engine, 'gpu');
  assert.match(gpu.model.backend.detail, /^WebGPU on .*17 models in each dispatch, run before the audit/);
  assertSameAucs(gpu, cpu);
  assert.match(await page.locator('#results-summary').textContent(), /engine: WebGPU on/);
  await shot(page, 'webgpu-audit', '#results-summary');
  const auto = await auditWith(page, 'auto');
  assert.equal(auto.model.backend.engine, 'cpu');
  assert.match(auto.model.backend.detail, /because the only WebGPU adapter, .*, is a software one/);
  assert.deepEqual(errors, []);
});

test('the Fashion-MNIST demo with its 16 references audits on WebGPU with the CPU\'s AUCs', { timeout: 1_200_000 }, async () => {
  const { page, errors } = await openPage(site.browser, site.url);
  await loadDemo(page, 'fashion_mnist/overfit', ATTACKS);
  const cpu = await auditWith(page, 'cpu');
  const started = Date.now();
  const gpu = await auditWith(page, 'webgpu', 1_000_000);
  console.log(`# WebGPU audit of fashion_mnist/overfit (17 models): ${((Date.now() - started) / 1000).toFixed(1)} s; ${gpu.model.backend.detail}`);
  assert.equal(gpu.model.backend.engine, 'gpu');
  assertSameAucs(gpu, cpu);
  assert.deepEqual(errors, []);
});

/** Uploads the breast-cancer example (427 records). */
async function uploadExample(/** @type {import('playwright-core').Page} */ page) {
  const example = `${ROOT}models/breast_cancer`;
  await page.setInputFiles('#upload-model', `${example}/model.onnx`);
  await page.fill('#upload-schema', readFileSync(`${example}/schema.json`, 'utf8'));
  await page.locator('#upload-schema').blur();
  await page.setInputFiles('#upload-records', `${example}/audit.csv`);
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('427 records'));
}

/** Uploads the Fashion-MNIST CNN target and 96 of its audit records as PNGs. */
async function uploadFashionImages(/** @type {import('playwright-core').Page} */ page) {
  const dir = mkdtempSync(`${tmpdir()}/mialab-webgpu-`);
  await fashionImagesZip(page, dir, 96);
  await page.setInputFiles('#upload-model', `${ROOT}models/fashion_mnist/targets/overfit.onnx`);
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('[1,28,28]'));
  await page.setInputFiles('#upload-images', `${dir}/images.zip`);
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('96 records'));
}

/**
 * Trains references of what `upload` loads on `device` (`k` models, `epochs`, batches of
 * `batch`); returns the page and the zip's training.json.
 */
async function trainOn(/** @type {string} */ device, upload = uploadExample, { k = 4, epochs = 8, batch = 100 } = {}) {
  const { page, errors } = await openPage(site.browser, site.url);
  await upload(page);
  await page.waitForSelector('#train:not([hidden])');
  await page.fill('#train-k', String(k));
  await page.fill('#train-epochs', String(epochs));
  await page.fill('#train-batch', String(batch));
  await page.fill('#train-workers', '2');
  await page.selectOption('#train-device', device);
  await page.click('#train-start');
  await page.waitForFunction((k) => document.getElementById('train-status').textContent.startsWith(`trained ${k} reference models`)
    || document.getElementById('train-error').textContent.length > 0, k, { timeout: 300_000 });
  assert.equal(await page.locator('#train-error').textContent(), '', `training on ${device}`);
  console.log(`# training on ${device}: ${await page.locator('#train-status').textContent()}`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#train-download')]);
  const log = JSON.parse(new TextDecoder().decode(unzipSync(readFileSync(await download.path()))['training.json']));
  assert.deepEqual(errors, []);
  return { page, log };
}

/** Every reference in `gpu` has the accuracies of the same one in `cpu` and each epoch's loss within `tolerance`. */
function assertSameTraining(/** @type {any} */ gpu, /** @type {any} */ cpu, /** @type {number} */ tolerance) {
  assert.equal(gpu.log.device, 'WebGPU');
  assert.equal(cpu.log.device, 'the CPU');
  assert.equal(gpu.log.references.length, cpu.log.references.length);
  gpu.log.references.forEach((/** @type {any} */ g, /** @type {number} */ k) => {
    const c = cpu.log.references[k];
    assert.deepEqual(g.accuracy, c.accuracy, `reference ${k}'s accuracies`);
    g.losses.forEach((/** @type {number} */ loss, /** @type {number} */ e) => {
      assert.ok(Math.abs(loss - c.losses[e]) < tolerance * Math.max(1, c.losses[e]), `reference ${k}, epoch ${e + 1}: loss ${loss} on WebGPU, ${c.losses[e]} on the CPU`);
    });
  });
}

test('references train on WebGPU in the page as they do on the CPU', { timeout: 600_000 }, async () => {
  const cpu = await trainOn('cpu');
  const gpu = await trainOn('webgpu');
  assert.equal(gpu.log.references.length, 4);
  assertSameTraining(gpu, cpu, 1e-5);
  await shot(gpu.page, 'training-webgpu', '#train');
  const auto = await trainOn('auto');
  assert.match(auto.log.device, /^the CPU, because the only WebGPU adapter, .*, is a software one/);
  assert.deepEqual(auto.log.references.map((/** @type {any} */ r) => r.losses), cpu.log.references.map((/** @type {any} */ r) => r.losses));
});

test('a convolutional target\'s references (batch normalisation, max pooling) train on WebGPU as on the CPU', { timeout: 600_000 }, async () => {
  const shape = { k: 2, epochs: 3, batch: 16 };
  const cpu = await trainOn('cpu', uploadFashionImages, shape);
  const gpu = await trainOn('webgpu', uploadFashionImages, shape);
  assertSameTraining(gpu, cpu, 1e-4);
  await shot(gpu.page, 'training-webgpu-cnn', '#train');
});
