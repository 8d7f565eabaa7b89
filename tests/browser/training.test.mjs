// Reference models trained in the page: an uploaded model and its records get 4 references
// trained in Web Workers, LiRA then runs on them, the zip the page offers uploads again next
// time, and cancelling mid-training loses nothing that was loaded. The quantile-regression
// attack runs when ticked.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { unzipSync } from 'fflate';
import { ROOT, useSite, openPage, shot, waitForRun } from './harness.mjs';

const site = useSite();
const EXAMPLE = `${ROOT}models/breast_cancer`;
let dir;
before(() => {
  dir = mkdtempSync(`${tmpdir()}/mialab-training-`);
});

/** Loads the bundled example's model, schema, audit records and population as uploads. */
async function uploadExample(page) {
  await page.setInputFiles('#upload-model', `${EXAMPLE}/model.onnx`);
  await page.fill('#upload-schema', readFileSync(`${EXAMPLE}/schema.json`, 'utf8'));
  // As a person does: the schema's field loses focus before the next file is chosen.
  await page.locator('#upload-schema').blur();
  await page.setInputFiles('#upload-records', `${EXAMPLE}/audit.csv`);
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('427 records'));
  await page.setInputFiles('#upload-population', `${EXAMPLE}/population.csv`);
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('142 known non-members'));
  await page.waitForSelector('#train:not([hidden])');
}

async function chooseAttacks(page, ids) {
  for (const box of await page.locator('#attack-list input[type=checkbox]').all()) {
    if (await box.isDisabled()) continue;
    if ((await box.isChecked()) !== ids.includes(await box.getAttribute('value'))) await box.click();
  }
}

test('four references train in the page, LiRA runs on them, and their zip uploads again', { timeout: 600_000 }, async () => {
  const { page, errors } = await openPage(site.browser, site.url);
  await uploadExample(page);
  assert.equal(await page.locator('#attack-lira-online').isDisabled(), true, 'no references yet');
  await page.fill('#train-k', '4');
  await page.fill('#train-epochs', '20');
  await page.fill('#train-workers', '2');
  await page.click('#train-start');
  await page.waitForFunction(() => document.getElementById('train-status').textContent.startsWith('trained 4 reference models')
    || document.getElementById('train-error').textContent.length > 0, null, { timeout: 300_000 });
  assert.equal(await page.locator('#train-error').textContent(), '');
  const status = await page.locator('#train-status').textContent();
  console.log(`page: ${status}`);
  const rows = await page.locator('#train-models li').allTextContents();
  assert.equal(rows.length, 4);
  assert.ok(rows.every((r) => /done, train accuracy/.test(r)), rows.join('\n'));
  const curves = await page.locator('#train-models polyline').evaluateAll((lines) => lines.map((l) => l.getAttribute('points').split(' ').length));
  assert.deepEqual(curves, [20, 20, 20, 20], 'one loss point per epoch per model');
  assert.match(await page.locator('#train-match').textContent(), /references \(mean\)/);
  assert.match(await page.locator('#loaded-summary').textContent(), /4 models; keep-mask: 0 records without an IN model, 0 without an OUT model/);
  await shot(page, 'training-done', '#loaded');

  await page.waitForFunction(() => !document.getElementById('attack-lira-online').disabled);
  await chooseAttacks(page, ['loss', 'lira-online', 'rmia-online', 'quantile-regression']);
  await page.click('#run');
  assert.equal(await waitForRun(page), '');
  for (const id of ['lira-online', 'rmia-online', 'quantile-regression']) {
    const auc = Number(await page.locator(`#metrics-table tr[data-attack="${id}"] td`).nth(1).textContent());
    assert.ok(auc > 0 && auc <= 1, `${id} AUC ${auc}`);
  }
  await shot(page, 'training-lira-results', '#results');

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#train-download')]);
  const zipPath = `${dir}/references.zip`;
  writeFileSync(zipPath, readFileSync(await download.path()));
  const names = Object.keys(unzipSync(readFileSync(zipPath))).sort();
  assert.deepEqual(names, ['keep.npy', 'ref-00.onnx', 'ref-01.onnx', 'ref-02.onnx', 'ref-03.onnx', 'training.json']);
  const log = JSON.parse(new TextDecoder().decode(unzipSync(readFileSync(zipPath))['training.json']));
  assert.equal(log.references.length, 4);
  assert.ok(log.records_epochs_per_second > 0);

  // Next time: the zip is the reference set, keep-mask included.
  const next = await openPage(site.browser, site.url);
  await uploadExample(next.page);
  await next.page.setInputFiles('#upload-references', zipPath);
  await next.page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('4 models; keep-mask: 0 records without an IN model'));
  await next.page.waitForFunction(() => !document.getElementById('attack-lira-online').disabled);
  await chooseAttacks(next.page, ['lira-online']);
  await next.page.click('#run');
  assert.equal(await waitForRun(next.page), '');
  const again = Number(await next.page.locator('#metrics-table tr[data-attack="lira-online"] td').nth(1).textContent());
  const first = Number(await page.locator('#metrics-table tr[data-attack="lira-online"] td').nth(1).textContent());
  assert.equal(again, first, 'the uploaded zip gives the LiRA AUC the trained set gave');
  assert.deepEqual(errors, []);
  assert.deepEqual(next.errors, []);
});

test('cancelling mid-training loses nothing that was loaded', { timeout: 300_000 }, async () => {
  const { page, errors } = await openPage(site.browser, site.url);
  await uploadExample(page);
  const before = await page.locator('#loaded-summary').textContent();
  await page.fill('#train-k', '4');
  await page.fill('#train-epochs', '100000');
  await page.click('#train-start');
  await page.waitForFunction(() => /epoch \d+\//.test(document.getElementById('train-models').textContent), null, { timeout: 120_000 });
  await page.click('#train-cancel');
  assert.match(await page.locator('#train-status').textContent(), /cancelled/);
  assert.equal(await page.locator('#train-start').isDisabled(), false);
  assert.equal(await page.locator('#loaded-summary').textContent(), before, 'nothing loaded changed');
  await shot(page, 'training-cancelled', '#loaded');
  await chooseAttacks(page, ['loss']);
  await page.click('#run');
  assert.equal(await waitForRun(page), '', 'the loaded model and records still audit');
  assert.deepEqual(errors, []);
});

test('a model outside the trainable subset is refused with its operator named', { timeout: 120_000 }, async () => {
  const { page, errors } = await openPage(site.browser, site.url);
  const wine = `${ROOT}models/fixtures/exporters`;
  await page.setInputFiles('#upload-model', `${wine}/wine_pytorch_style_opset17.onnx`);
  await page.setInputFiles('#upload-npy', [`${wine}/wine_features.npy`, `${wine}/wine_labels.npy`]);
  await page.waitForSelector('#train:not([hidden])');
  await page.click('#train-start');
  await page.waitForFunction(() => document.getElementById('train-error').textContent.length > 0);
  assert.match(await page.locator('#train-error').textContent(), /cannot be retrained here.*LayerNormalization/);
  assert.equal(await page.locator('#train-start').isDisabled(), false);
  assert.deepEqual(errors, []);
});
