// The bundled demo end to end: the page's report equals the CLI's for the same inputs,
// every results view renders, and charts can be switched and exported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ROOT, ARTIFACTS, useSite, openPage, shot, waitForRun, legendSeries, assertDistinct } from './harness.mjs';

const site = useSite();

const ATTACKS = ['loss', 'confidence-per-class', 'lira-online', 'lira-offline', 'rmia-online', 'calibrated-loss'];

function cliReport() {
  const dir = mkdtempSync(`${tmpdir()}/mialab-`);
  const binary = process.env.MIALAB_BIN || `${ROOT}target/debug/mialab`;
  execFileSync(binary, ['audit', '--zoo', 'support2/overfit', '--zoo-dir', `${ROOT}models`, '--attack', ATTACKS.join(','), '-q', '--out', `${dir}/report.json`], { cwd: ROOT });
  return JSON.parse(readFileSync(`${dir}/report.json`, 'utf8'));
}

test('the SUPPORT2 demo gives the CLI report, with every results view', { timeout: 600_000 }, async () => {
  const { page, requests, errors } = await openPage(site.browser, site.url);
  await page.selectOption('#demo-select', 'support2/overfit');
  await page.click('#demo-load');
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('16 models; keep-mask'), null, { timeout: 120_000 });
  assert.match(await page.locator('#loaded-summary').textContent(), /8000 records.*4000 members, 4000 non-members/);
  await shot(page, 'demo-loaded');

  for (const box of await page.locator('#attack-list input[type=checkbox]').all()) {
    const id = await box.getAttribute('value');
    if ((await box.isChecked()) !== ATTACKS.includes(id)) await box.click();
  }
  await page.click('#run');
  assert.equal(await waitForRun(page), '');
  await page.waitForSelector('#roc-chart canvas');
  console.log(`# SUPPORT2 demo in the page: ${await page.locator('#results-summary').textContent()}`);
  await shot(page, 'results-full');
  await shot(page, 'results-roc-loglog', '#roc-chart');

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-report')]);
  const pageReport = JSON.parse(readFileSync(await download.path(), 'utf8'));
  const cli = cliReport();
  for (const section of ['model', 'records', 'population', 'references', 'settings']) {
    // Paths differ, and so may the engine: the page runs tract in wasm, the CLI whichever
    // --backend auto picks on this machine (tract, when the only GPU is a software one).
    const withoutPaths = (/** @type {any} */ s) => {
      const { source: _a, backend: _b, ...rest } = s ?? {};
      // Each reference model's file is named by path too; its content hash must agree.
      if (rest.model_files) rest.model_files = rest.model_files.map((/** @type {any} */ f) => f.sha256);
      return rest;
    };
    assert.deepEqual(withoutPaths(pageReport[section]), withoutPaths(cli[section]), `${section} differs between page and CLI`);
  }
  // The same float32 graph runs on tract's wasm kernels in the page and its native SIMD
  // kernels in the CLI: logits agree to ~1e-6, which can swap a few nearly tied records.
  // Metrics must agree within that: AUC to 1e-4, each TPR to 0.5 points.
  assert.equal(pageReport.attacks.length, cli.attacks.length);
  for (const [p, c] of pageReport.attacks.map((a, i) => [a, cli.attacks[i]])) {
    assert.equal(p.id, c.id);
    assert.equal(p.scored, c.scored);
    assert.equal(p.detail, c.detail);
    assert.ok(Math.abs(p.metrics.auc - c.metrics.auc) < 1e-4, `${p.id} AUC ${p.metrics.auc} vs CLI ${c.metrics.auc}`);
    p.metrics.tpr_at_fpr.forEach((t, i) => {
      const other = c.metrics.tpr_at_fpr[i].tpr;
      assert.ok(t.tpr === other || Math.abs(t.tpr - other) <= 0.005, `${p.id} TPR@${t.fpr}: ${t.tpr} vs CLI ${other}`);
    });
  }
  assert.ok(Math.abs(pageReport.utility.accuracy - cli.utility.accuracy) < 1e-3);
  const lira = pageReport.attacks.find((a) => a.id === 'lira-online');
  const shown = await page.locator('#metrics-table tr[data-attack="lira-online"] td').allTextContents();
  assert.equal(shown[1], lira.metrics.auc.toFixed(3));

  await page.uncheck('#roc-log');
  await shot(page, 'results-roc-linear', '#roc-chart');
  const styled = await legendSeries(page, '#roc-chart');
  assertDistinct(styled, 'results ROC');
  const series = styled.map((s) => s.label);
  for (const id of ATTACKS) assert.ok(series.some((s) => s.includes(id)), `ROC legend lacks ${id}: ${series}`);
  // The strongest five and chance are drawn at first; the rest are one click away.
  assert.equal(styled.filter((s) => s.shown).length, Math.min(5, styled.length - 1) + 1);
  const hidden = styled.find((s) => !s.shown);
  if (hidden) {
    await page.locator('#roc-chart .legend-item', { hasText: hidden.label }).locator('.legend-toggle').click();
    assert.ok((await legendSeries(page, '#roc-chart')).find((s) => s.label === hidden.label).shown);
  }
  await page.locator('#roc-chart .legend-item', { hasText: 'lira-online' }).locator('.legend-only').click();
  assert.deepEqual((await legendSeries(page, '#roc-chart')).filter((s) => s.shown).map((s) => s.label), ['lira-online']);
  await shot(page, 'results-roc-isolated', '#roc-chart');
  const [svg] = await Promise.all([page.waitForEvent('download'), page.click('#export-roc-svg')]);
  const svgText = readFileSync(await svg.path(), 'utf8');
  assert.match(svgText, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.equal((svgText.match(/<path /g) || []).length, 1, 'the SVG draws the series shown, here lira-online alone');
  await page.locator('#roc-chart .legend-all').click();
  await page.selectOption('#hist-attack', 'rmia-online');
  await page.waitForSelector('#hist-chart canvas');
  const scored = pageReport.attacks.find((a) => a.id === 'rmia-online').scored;
  const binned = await page.locator('#hist-chart').evaluate((e) => ({ values: Number(e.dataset.values), binned: Number(e.dataset.binned), skipped: Number(e.dataset.skipped) }));
  assert.deepEqual(binned, { values: scored, binned: scored, skipped: 0 }, 'every score lands in a bin');
  await shot(page, 'results-histogram', '#hist-chart');
  await shot(page, 'results-metrics', '#metrics-table');
  await shot(page, 'results-classes', '#class-table');
  const firstRank = await page.locator('#record-table tbody tr:first-child td').nth(6).textContent();
  assert.equal(firstRank, '1');
  await page.fill('#record-search', 'support2-1');
  await shot(page, 'results-records', '#record-table');
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  assert.match(readFileSync(await csv.path(), 'utf8'), /^id,label,member,/);
  const [png] = await Promise.all([page.waitForEvent('download'), page.click('#export-roc')]);
  assert.equal(readFileSync(await png.path()).subarray(1, 4).toString(), 'PNG');

  const origin = new URL(site.url).origin;
  const foreign = requests.filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:'));
  assert.deepEqual(foreign, [], 'the page contacted another origin');
  assert.deepEqual(errors, []);
  await page.setViewportSize({ width: 390, height: 800 });
  await shot(page, 'narrow-screen');
  void ARTIFACTS;
});

test('a long audit can be cancelled and the page keeps working', { timeout: 300_000 }, async () => {
  const { page, errors } = await openPage(site.browser, site.url);
  await page.selectOption('#demo-select', 'fashion_mnist/overfit');
  await page.click('#demo-load');
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('16 models; keep-mask'), null, { timeout: 120_000 });
  await page.click('#run');
  await page.waitForFunction(() => document.getElementById('progress-text').textContent.includes('of'));
  await page.click('#cancel');
  assert.match(await waitForRun(page), /Cancelled/);
  assert.match(await page.locator('#loaded-summary').textContent(), /Model\s*none yet/);
  await shot(page, 'cancelled', '#attacks');
  await page.selectOption('#demo-select', 'support2/dpsgd');
  await page.click('#demo-load');
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('16 models; keep-mask'), null, { timeout: 120_000 });
  for (const box of await page.locator('#attack-list input[type=checkbox]').all()) {
    if ((await box.getAttribute('value')) !== 'lira-online' && (await box.isChecked())) await box.click();
  }
  await page.click('#run');
  assert.equal(await waitForRun(page), '');
  const auc = Number((await page.locator('#metrics-table tr[data-attack="lira-online"] td').nth(1).textContent()));
  assert.ok(auc < 0.56, `DP-SGD target: LiRA AUC ${auc} near chance`);
  assert.deepEqual(errors, []);
});
