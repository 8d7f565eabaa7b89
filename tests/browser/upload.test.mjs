// Uploads: a model and CSV records the test writes itself audited end to end with every
// network request recorded, and bad uploads that each get a clear message next to their
// input while the page keeps working.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { ROOT, useSite, openPage, shot, waitForRun } from './harness.mjs';

const site = useSite();
let dir;
before(() => {
  dir = mkdtempSync(`${tmpdir()}/mialab-upload-`);
});

const SCHEMA = readFileSync(`${ROOT}models/breast_cancer/schema.json`, 'utf8');

/** Writes the first `rows` audit records of the bundled example as the test's own CSV. */
function writeRecords(name, rows, edit = (lines) => lines) {
  const lines = readFileSync(`${ROOT}models/breast_cancer/audit.csv`, 'utf8').trim().split('\n');
  const path = `${dir}/${name}`;
  writeFileSync(path, edit(lines.slice(0, rows + 1)).join('\n') + '\n');
  return path;
}

async function upload(page, selector, path) {
  await page.setInputFiles(selector, path);
}

async function errorOf(page, id) {
  await page.waitForFunction((el) => document.getElementById(el).textContent.length > 0, id, { timeout: 30_000 });
  return page.locator(`#${id}`).textContent();
}

test('an uploaded model and CSV are audited without any request leaving the site', { timeout: 300_000 }, async () => {
  const { page, requests, errors } = await openPage(site.browser, site.url);
  const start = requests.length;
  await upload(page, '#upload-model', `${ROOT}models/breast_cancer/model.onnx`);
  await page.fill('#upload-schema', SCHEMA);
  await upload(page, '#upload-records', writeRecords('records.csv', 300));
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('300 records'));
  assert.match(await page.locator('#loaded-summary').textContent(), /classes malignant, benign/);
  assert.equal(await page.locator('#attack-lira-online').isDisabled(), true, 'no references: LiRA unavailable');
  await shot(page, 'upload-loaded');
  await page.click('#run');
  assert.equal(await waitForRun(page), '');
  const rows = await page.locator('#metrics-table tbody tr').count();
  assert.equal(rows, 5, 'the four global population attacks and label-only run without population records (the encoding attacks calibrate on them)');
  await shot(page, 'upload-results');
  const origin = new URL(site.url).origin;
  const during = requests.slice(start).filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:'));
  assert.deepEqual(during, [], `requests off the site during the audit: ${during}`);
  assert.deepEqual(errors, []);
});

test('bad uploads get a clear message and the page keeps working', { timeout: 300_000 }, async () => {
  const { page, errors } = await openPage(site.browser, site.url);

  const notOnnx = `${dir}/not-a-model.onnx`;
  writeFileSync(notOnnx, 'these bytes are not a protobuf');
  await upload(page, '#upload-model', notOnnx);
  assert.match(await errorOf(page, 'upload-model-error'), /not-a-model\.onnx.*(ONNX|protobuf|parse|decode)/i);
  await shot(page, 'bad-not-onnx', '#choose');

  await upload(page, '#upload-model', `${ROOT}models/fixtures/unsupported_op.onnx`);
  assert.match(await errorOf(page, 'upload-model-error'), /Det/);
  await shot(page, 'bad-unsupported-operator', '#choose');

  await page.fill('#upload-schema', SCHEMA);
  const broken = writeRecords('broken.csv', 20, (lines) => [...lines.slice(0, 5), lines[5].split(',').slice(0, 4).join(','), ...lines.slice(6)]);
  await upload(page, '#upload-records', broken);
  assert.match(await errorOf(page, 'upload-records-error'), /broken\.csv.*(line|row|record) 6?/i);
  await shot(page, 'bad-broken-csv', '#choose');

  await page.fill('#upload-schema', SCHEMA.replace('"diagnosis"', '"outcome"'));
  await upload(page, '#upload-records', writeRecords('wrong-label.csv', 20));
  assert.match(await errorOf(page, 'upload-records-error'), /outcome/);
  await shot(page, 'bad-label-column', '#choose');

  // A shape mismatch: Fashion-MNIST's CNN against 30-feature tabular records.
  await page.fill('#upload-schema', SCHEMA);
  await upload(page, '#upload-model', `${ROOT}models/fashion_mnist/targets/overfit.onnx`);
  await upload(page, '#upload-records', writeRecords('tabular.csv', 20));
  await page.waitForFunction(() => !document.getElementById('run').disabled);
  await page.click('#run');
  assert.match(await waitForRun(page), /shape/);
  await shot(page, 'bad-shape-mismatch', '#attacks');

  // Nothing was lost: the right model on the records already loaded now runs.
  await upload(page, '#upload-model', `${ROOT}models/breast_cancer/model.onnx`);
  await page.waitForFunction(() => document.getElementById('upload-model-error').textContent === '');
  await page.click('#run');
  assert.equal(await waitForRun(page), '');
  assert.ok((await page.locator('#metrics-table tbody tr').count()) > 0);
  assert.deepEqual(errors, []);
});

test('NumPy records (features, labels, membership) upload and audit', { timeout: 300_000 }, async () => {
  const { page, errors } = await openPage(site.browser, site.url);
  const s2 = `${ROOT}models/support2`;
  await upload(page, '#upload-model', `${s2}/targets/overfit.onnx`);
  await page.setInputFiles('#upload-npy', [`${s2}/audit_features.npy`, `${s2}/audit_labels.npy`, `${s2}/targets/overfit.members.npy`]);
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('4000 members'));
  await page.setInputFiles('#upload-npy', [`${s2}/audit_features.npy`]);
  assert.match(await errorOf(page, 'upload-npy-error'), /labels/);
  assert.match(await page.locator('#loaded-summary').textContent(), /8000 records/, 'the records already loaded stay');
  await page.click('#run');
  assert.equal(await waitForRun(page), '');
  const auc = Number(await page.locator('#metrics-table tr[data-attack="loss"] td').nth(1).textContent());
  const binary = process.env.MIALAB_BIN || `${ROOT}target/debug/mialab`;
  execFileSync(binary, ['audit', '--model', `${s2}/targets/overfit.onnx`, '--records', `${s2}/audit_features.npy`, '--labels', `${s2}/audit_labels.npy`, '--membership', `${s2}/targets/overfit.members.npy`, '--attack', 'loss', '-q', '--out', `${dir}/npy-report.json`]);
  const cli = JSON.parse(readFileSync(`${dir}/npy-report.json`, 'utf8')).attacks.find((a) => a.id === 'loss').metrics.auc;
  assert.ok(Math.abs(auc - cli) <= 0.0005 + 1e-9, `loss AUC ${auc} on the page, ${cli} from the CLI on the same files`);
  assert.deepEqual(errors, []);
});

test('a semicolon CSV loads, a schema typed after the file re-reads it, and the same file chosen again reloads', { timeout: 300_000 }, async () => {
  const { page, errors } = await openPage(site.browser, site.url);
  await upload(page, '#upload-model', `${ROOT}models/breast_cancer/model.onnx`);
  // A European spreadsheet's export: semicolons between the columns.
  const semicolons = writeRecords('semicolons.csv', 40, (lines) => lines.map((l) => l.replaceAll(',', ';')));
  await upload(page, '#upload-records', semicolons);
  assert.match(await errorOf(page, 'upload-records-error'), /label/i, 'without the schema the label column is unknown');
  await page.fill('#upload-schema', SCHEMA);
  await page.locator('#upload-schema').dispatchEvent('change');
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('40 records'));
  assert.equal(await page.locator('#upload-records-error').textContent(), '');

  // The picker clears the input as it opens, so choosing the same file fires a change again.
  await page.locator('#upload-records').dispatchEvent('click');
  assert.equal(await page.locator('#upload-records').evaluate((e) => e.value), '');
  writeRecords('semicolons.csv', 25, (lines) => lines.map((l) => l.replaceAll(',', ';')));
  await upload(page, '#upload-records', semicolons);
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('25 records'));
  await page.click('#run');
  assert.equal(await waitForRun(page), '');
  assert.deepEqual(errors, []);
});
