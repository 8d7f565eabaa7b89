// The page's audit on every core: the target and references run in a pool of model workers
// before the audit, and the report is the same, byte for byte, whatever the pool's size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useSite, openPage, shot, auditReportWith, loadDemo } from './harness.mjs';

const site = useSite();
const ATTACKS = ['loss', 'lira-online', 'rmia-online'];

/** A fresh page with demo `name` loaded, audited on the CPU with `workers` model threads. */
async function auditIn(/** @type {string} */ name, /** @type {number} */ workers, attacks = ATTACKS) {
  const { page, errors } = await openPage(site.browser, site.url);
  await loadDemo(page, name, attacks);
  const started = Date.now();
  const report = await auditReportWith(page, 'cpu', 480_000, workers);
  const seconds = (Date.now() - started) / 1000;
  const info = await page.locator('#run-info').textContent();
  console.log(`# ${name}, ${workers} model worker(s): ${seconds.toFixed(1)} s; ${info}`);
  return { page, errors, report, info };
}

test('the SUPPORT2 demo gives the same report with one model thread and with a pool of three', { timeout: 600_000 }, async () => {
  const one = await auditIn('support2/overfit', 1);
  assert.doesNotMatch(one.info, /model workers/);
  const pool = await auditIn('support2/overfit', 3);
  assert.match(pool.info, /^the target and 16 reference models ran in 3 model workers first: [\d.]+ s/);
  assert.equal(pool.report, one.report, 'the report with a pool of 3 model workers differs from the one with 1');
  const parsed = JSON.parse(pool.report);
  assert.equal(parsed.model.backend.engine, 'cpu');
  assert.ok(parsed.attacks.every((/** @type {any} */ a) => a.metrics.auc > 0.5), 'the demo leaks');
  await shot(pool.page, 'pool-audit', '#run-info');

  // Running again with another attack runs no model: the pool has nothing to do.
  await pool.page.locator('#attack-list input[value="rmia-offline"]').check();
  await auditReportWith(pool.page, 'cpu', 120_000, 3);
  assert.doesNotMatch(await pool.page.locator('#run-info').textContent(), /model workers/);
  await one.page.locator('#attack-list input[value="rmia-offline"]').check();
  // Auto on a software adapter keeps to the CPU, in the pool, and says why, as one thread does.
  const autoPool = JSON.parse(await auditReportWith(pool.page, 'auto', 480_000, 2));
  const autoOne = JSON.parse(await auditReportWith(one.page, 'auto', 480_000, 1));
  assert.equal(autoPool.model.backend.detail, autoOne.model.backend.detail);
  assert.deepEqual(autoPool.attacks, autoOne.attacks);
  assert.deepEqual([...one.errors, ...pool.errors], []);
});

test('the target-only queries made while the pool runs the models, shared with it, and Shokri scored in a model worker, give the same report', { timeout: 600_000 }, async () => {
  const attacks = ['loss', 'lira-online', 'label-only', 'code-poison', 'shokri'];
  const one = await auditIn('support2/overfit', 1, attacks);
  // Two threads: the audit's own makes the encoded queries and most of label-only's copies,
  // one model worker runs the 17 models and then the other copies.
  const two = await auditIn('support2/overfit', 2, attacks);
  assert.match(two.info, /^the target and 16 reference models \(and \d+ of the target-only queries' parts\) ran in 1 model worker first: [\d.]+ s/);
  assert.match(two.info, /label-only on the audit records [\d.]+ s/);
  assert.equal(two.report, one.report, 'the report with the queries made ahead differs from the one without');
  // Three: two model workers share the models and some of the copies.
  const three = await auditIn('support2/overfit', 3, attacks);
  assert.match(three.info, /^the target and 16 reference models \(and \d+ of the target-only queries' parts\) ran in 2 model workers first/);
  assert.equal(three.report, one.report, 'the report with the copies shared by two model workers differs from the one without');
  assert.deepEqual([...one.errors, ...two.errors, ...three.errors], []);
});
