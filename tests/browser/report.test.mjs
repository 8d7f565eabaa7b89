// The report to hand over, from the page: after an audit of uploaded files, "Report to hand
// over (HTML)" downloads one file that, opened in Chromium with the network off, shows every
// section and both charts and asks for nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ROOT, useSite, openPage, shot, waitForRun } from './harness.mjs';

const site = useSite();

test('the HTML report opens offline with every section and chart', { timeout: 300_000 }, async () => {
  const { page, errors } = await openPage(site.browser, site.url);
  const example = `${ROOT}models/breast_cancer`;
  await page.setInputFiles('#upload-model', `${example}/model.onnx`);
  await page.fill('#upload-schema', readFileSync(`${example}/schema.json`, 'utf8'));
  await page.setInputFiles('#upload-records', `${example}/audit.csv`);
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('members'));
  await page.setInputFiles('#upload-population', `${example}/population.csv`);
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('known non-members'));
  await page.click('#run');
  assert.equal(await waitForRun(page), '');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-html')]);
  // Saved under its own name: Chromium reads a file:// page's type from its extension.
  const path = `${mkdtempSync(`${tmpdir()}/mialab-report-`)}/${download.suggestedFilename()}`;
  await download.saveAs(path);

  const context = await site.browser.newContext({ offline: true, viewport: { width: 1100, height: 900 } });
  const reader = await context.newPage();
  const requests = [];
  reader.on('request', (r) => requests.push(r.url()));
  await reader.goto(`file://${path}`);
  for (const section of ['reading', 'audited', 'metrics', 'roc', 'histogram', 'classes', 'exposed', 'papers']) {
    assert.equal(await reader.locator(`#${section}`).count(), 1, `section ${section}`);
  }
  assert.equal(await reader.locator('svg').count(), 2, 'the ROC and the histogram');
  const curves = await reader.locator('#roc + figure polyline').count();
  const attacks = await page.locator('#metrics-table tbody tr').count() + await page.locator('#poison-table tbody tr').count();
  assert.equal(curves, attacks, 'one ROC curve per measured attack');
  assert.match(await reader.locator('.reading').textContent(), /At 1% false alarms, an attacker using .+ identifies \d+\.\d\d% of the training records/);
  assert.deepEqual(requests.filter((u) => !u.startsWith('file://')), [], 'the report asked for nothing');
  await reader.screenshot({ path: `${ROOT}test-artifacts/report-html.png`, fullPage: true });
  await context.close();
  await shot(page, 'report-export', '#results');
  assert.deepEqual(errors, []);
});
