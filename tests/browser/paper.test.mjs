// A model poisoned the way the NDSS 2025 paper's code poisons by default (own label, the
// normalisation inside the ONNX model), uploaded as files: without the normalisation declared
// the page says what to declare; declared, the encoding attack finds its members.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROOT, useSite, openPage, shot, waitForRun } from './harness.mjs';

const site = useSite();

async function runOnly(page, id) {
  for (const box of await page.locator('#attack-list input[type=checkbox]').all()) {
    const value = await box.getAttribute('value');
    if ((await box.isChecked()) !== (value === id) && !(await box.isDisabled())) await box.click();
  }
  await page.evaluate(() => {
    document.getElementById('results').hidden = true;
  });
  await page.click('#run');
  assert.equal(await waitForRun(page), '');
}

test('the paper\'s default poisoning is found once its normalisation is declared', { timeout: 300_000 }, async () => {
  const { page, errors } = await openPage(site.browser, site.url);
  const fm = `${ROOT}models/fashion_mnist`;
  const fixture = `${ROOT}models/fixtures/paper_default`;
  await page.setInputFiles('#upload-model', `${fixture}/model.onnx`);
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('[1,28,28]'));
  await page.setInputFiles('#upload-npy', [`${fm}/audit_features.npy`, `${fm}/audit_labels.npy`, `${fixture}/members.npy`]);
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('4000 members'));
  await page.setInputFiles('#upload-population-npy', [`${fm}/population_features.npy`, `${fm}/population_labels.npy`]);
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('2000 known non-members'));

  await runOnly(page, 'code-poison');
  const warning = await page.locator('#run-warnings li[data-attack="code-poison"]').textContent();
  assert.match(warning, /declare it as model:0\.2860:0\.3530/);
  await shot(page, 'paper-default-undeclared', '#results');

  await page.fill('#param-code-poison-normalization', 'model:0.2860:0.3530');
  await runOnly(page, 'code-poison');
  assert.equal(await page.locator('#run-warnings li').count(), 0);
  const cells = await page.locator('#poison-table tr[data-attack="code-poison"] td').allTextContents();
  console.log(`# paper's default poisoning, declared: ${cells.join(' | ')}`);
  const tpr = Number(cells[5].replace('%', '')) / 100;
  assert.ok(tpr >= 0.9, `TPR at 0.1% FPR ${cells[5]}`);
  assert.match(cells[8], /normalisation declared: model:0\.286:0\.353/);
  await shot(page, 'paper-default-declared', '#results');
  assert.deepEqual(errors, []);
});
