// The GPU path in the browser: with WebGPU enabled (headless Chromium's SwiftShader adapter),
// the page runs a zoo model's lowered kernels through WebGPU and compares them with the CPU engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useSite, openPage, shot } from './harness.mjs';

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
  const diff = Number(await page.locator('#webgpu-result').getAttribute('data-max-abs-diff'));
  assert.ok(diff < 1e-3, `largest |WebGPU - CPU| ${diff}`);
  await shot(page, 'webgpu-check', '.engine');
  assert.deepEqual(errors, []);
});
