// The exporter matrix in the page: every model of models/fixtures/exporters/matrix.json (as
// skl2onnx, onnxmltools and PyTorch-style exports write them, ZipMap on and off) uploaded
// unchanged with its NumPy records, audited with the loss attack, and compared with the CLI.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { ROOT, useSite, openPage, shot, waitForRun } from './harness.mjs';

const site = useSite();
const DIR = `${ROOT}models/fixtures/exporters`;
const { models } = JSON.parse(readFileSync(`${DIR}/matrix.json`, 'utf8'));
let dir;
before(() => {
  dir = mkdtempSync(`${tmpdir()}/mialab-exporters-`);
});

/** The loss attack's AUC from the CLI on the same files. */
function cliAuc(entry) {
  const binary = process.env.MIALAB_BIN || `${ROOT}target/debug/mialab`;
  const out = `${dir}/${entry.name}.json`;
  execFileSync(binary, ['audit', '--model', `${DIR}/${entry.name}.onnx`, '--records', `${DIR}/${entry.features}`,
    '--labels', `${DIR}/${entry.labels}`, '--membership', `${DIR}/wine_members.npy`, '--attack', 'loss', '-q', '--out', out]);
  return JSON.parse(readFileSync(out, 'utf8')).attacks[0].metrics.auc;
}

test('every exported model loads in the page with its default options and audits as in the CLI', { timeout: 600_000 }, async () => {
  assert.ok(models.length >= 20, `${models.length} models`);
  const { page, errors } = await openPage(site.browser, site.url);
  for (const entry of models) {
    await page.setInputFiles('#upload-model', `${DIR}/${entry.name}.onnx`);
    await page.waitForFunction((name) => document.getElementById('loaded-summary').textContent.includes(`${name}.onnx:`), entry.name, { timeout: 60_000 });
    assert.equal(await page.locator('#upload-model-error').textContent(), '', entry.name);
    const summary = await page.locator('#loaded-summary').textContent();
    if (entry.operators.some((o) => o.endsWith(':ZipMap'))) assert.match(summary, /ZipMap .* removed/, entry.name);
    // Copies named after the model, so that the summary shows when these records are in.
    const files = [[entry.features, 'features'], [entry.labels, 'labels'], ['wine_members.npy', 'members']].map(([from, what]) => {
      const to = `${dir}/${entry.name}_${what}.npy`;
      copyFileSync(`${DIR}/${from}`, to);
      return to;
    });
    await page.setInputFiles('#upload-npy', files);
    await page.waitForFunction((source) => document.getElementById('loaded-summary').textContent.includes(`178 records of shape [13] from ${source}`), `${entry.name}_features.npy`, { timeout: 60_000 });
    for (const box of await page.locator('#attack-list input[type=checkbox]').all()) {
      if ((await box.isChecked()) !== ((await box.getAttribute('value')) === 'loss')) await box.click();
    }
    await page.click('#run');
    assert.equal(await waitForRun(page), '', entry.name);
    // The results of the model before stay shown until this model's arrive.
    await page.waitForFunction((source) => document.getElementById('results-summary').textContent.includes(` of ${source};`), `${entry.name}.onnx`, { timeout: 60_000 });
    const auc = Number(await page.locator('#metrics-table tr[data-attack="loss"] td').nth(1).textContent());
    const cli = cliAuc(entry);
    assert.ok(Math.abs(auc - cli) <= 0.0005 + 1e-9, `${entry.name}: loss AUC ${auc} on the page, ${cli} from the CLI`);
    if (entry.name === 'wine_tabular_logreg') await shot(page, 'exporters-tabular-pipeline');
  }
  assert.deepEqual(errors, []);
});
