// A million-record audit set in the page: a SUPPORT2-shaped CSV (synthetic, 258 MB, written
// by scripts/synthetic-records.mjs) and a 100,000-record population are read in the engine's
// worker as they stream from disk, audited with the six population attacks, and shown (the
// engine bins the histograms, thins the ROC and pages the per-record table), while the page's
// main thread never runs a task of 200 ms or more.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { ROOT, useSite, openPage, shot } from './harness.mjs';
import { auditLargeCsv } from './large-audit.mjs';

const site = useSite();
const RECORDS = Number(process.env.LARGE_RECORDS || 1_000_000);
const ATTACKS = ['loss', 'confidence', 'entropy', 'modified-entropy', 'loss-per-class', 'confidence-per-class'];
let dir;
before(() => {
  dir = mkdtempSync(`${tmpdir()}/mialab-large-`);
  execFileSync(process.execPath, [`${ROOT}scripts/synthetic-records.mjs`, '--records', String(RECORDS), '--out', `${dir}/audit.csv`, '--population', String(RECORDS / 10), '--population-out', `${dir}/population.csv`]);
});

test(`${RECORDS.toLocaleString('en')} uploaded records audit with the page responsive`, { timeout: 2_400_000 }, async () => {
  const { page, errors } = await openPage(site.browser, site.url);
  const measured = await auditLargeCsv(page, {
    model: `${ROOT}models/support2/targets/overfit.onnx`,
    records: `${dir}/audit.csv`,
    population: `${dir}/population.csv`,
    attacks: ATTACKS,
    count: RECORDS,
  });
  console.log(`# ${RECORDS} records: load ${measured.loadSeconds.toFixed(1)} s, run ${measured.runSeconds.toFixed(1)} s, wasm memory ${(measured.wasmBytes / 2 ** 20).toFixed(0)} MiB, longest main-thread task ${measured.longestTask} ms`);
  assert.equal(await page.locator('#metrics-table tbody tr').count(), ATTACKS.length);
  const auc = Number(await page.locator('#metrics-table tr[data-attack="loss"] td').nth(1).textContent());
  assert.ok(auc > 0.7, `the overfit target's loss AUC on records drawn from its audit set: ${auc}`);
  assert.equal(await page.locator('#record-table tbody tr').count(), 100, 'one page of the per-record table');
  assert.match(await page.locator('#records-page').textContent(), new RegExp(`1\\u2013100 of ${RECORDS.toLocaleString('en')}`));
  await page.click('#records-next');
  await page.waitForFunction(() => document.getElementById('records-page').textContent.startsWith('records 101'));
  const chart = await page.locator('#hist-chart').evaluate((e) => ({ values: Number(e.dataset.values), binned: Number(e.dataset.binned) }));
  assert.equal(chart.binned, chart.values, 'every score lands in a bin');
  assert.ok(chart.values >= RECORDS * 0.99, `the histogram holds the scored records: ${chart.values}`);
  await shot(page, 'large-results', '#results');
  assert.ok(measured.longestTask < 200, `the longest main-thread task took ${measured.longestTask} ms`);
  assert.deepEqual(errors, []);
});
