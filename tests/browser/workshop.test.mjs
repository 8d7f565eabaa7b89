// Workshop mode and output defences in the page: every step runs on the bundled models and
// draws its chart with the expected series; "top-1 only" blocks the loss attack while the
// label-only attack keeps reading membership from the overfit model.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useSite, openPage, shot, waitForRun, legendSeries, assertDistinct } from './harness.mjs';

const site = useSite();

/** The series a chart's legend names. */
async function legend(page, selector) {
  return (await legendSeries(page, selector)).map((s) => s.label);
}

const EXPECTED_SERIES = [
  ['members', 'non-members'],
  ['loss', 'confidence', 'entropy', 'modified-entropy', 'chance'],
  ['loss', 'modified-entropy', 'chance'],
  ['loss', 'lira-online', 'rmia-online', 'chance'],
  ['clean: LiRA on real records', 'clean: encoding attack', 'poisoned: LiRA on real records', 'poisoned: encoding attack'],
  ['overfit behind top-1: loss (blocked)', 'overfit behind top-1: label-only'],
];

test('every workshop step runs offline and draws its chart', { timeout: 900_000 }, async () => {
  const { page, requests, errors } = await openPage(site.browser, site.url);
  const steps = await page.locator('#workshop-steps > li').count();
  assert.equal(steps, EXPECTED_SERIES.length);
  /** @type {number[]} */
  const seconds = [];
  for (let i = 1; i <= steps; i += 1) {
    const started = Date.now();
    await page.click(`#workshop-run-${i}`);
    await page.waitForFunction(
      (n) => {
        const item = document.querySelector(`#workshop-steps > li[data-step="${n}"]`);
        return item.dataset.done === 'yes' || item.querySelector('.error').textContent.length > 0;
      },
      i,
      { timeout: 300_000 },
    );
    assert.equal(await page.locator(`#workshop-steps > li[data-step="${i}"] .error`).textContent(), '', `step ${i} failed`);
    const outcome = await page.locator(`#workshop-outcome-${i}`).textContent();
    seconds.push((Date.now() - started) / 1000);
    console.log(`# step ${i} (${seconds[i - 1].toFixed(1)} s): ${outcome}`);
    assert.match(outcome, /\d/, `step ${i} states what it measured`);
    assertDistinct(await legendSeries(page, `#workshop-chart-${i}`), `step ${i}`);
    const series = await legend(page, `#workshop-chart-${i}`);
    for (const name of EXPECTED_SERIES[i - 1]) assert.ok(series.some((s) => s.startsWith(name)), `step ${i}: no series '${name}' in ${JSON.stringify(series)}`);
    assert.ok(await page.locator(`#workshop-chart-${i} canvas`).count() > 0);
    await shot(page, `workshop-step-${i}`, `#workshop-steps > li[data-step="${i}"]`);
  }
  const total = seconds.reduce((a, b) => a + b, 0);
  console.log(`# workshop steps: ${seconds.map((s) => s.toFixed(1)).join(', ')} s; ${total.toFixed(1)} s in all`);
  // What a room waits for, clicking each step as soon as the last one answered.
  assert.ok(seconds.every((s) => s < 8), `every step under 8 s: ${seconds}`);
  assert.ok(total < 20, `the six steps under 20 s in all: ${total.toFixed(1)} s`);
  const step6 = await legend(page, '#workshop-chart-6');
  for (const name of ['overfit', 'regularised', 'dpsgd']) assert.ok(step6.some((s) => s.startsWith(name) && s.endsWith('LiRA')), `step 6 lacks ${name}: ${step6}`);
  // The disguise, as measured: the encoding attack finds nearly every member even at 0.1% FPR.
  const disguise = (await page.locator('#workshop-outcome-5').textContent()).match(/poisoned model: AUC (\d\.\d+), ([\d.]+)% of members at 1% FPR and ([\d.]+)% at 0\.1%/);
  assert.ok(disguise, 'step 5 states the encoding attack\'s AUC and TPRs');
  assert.ok(Number(disguise[1]) > 0.99 && Number(disguise[3]) >= 90, disguise[0]);
  const origin = new URL(site.url).origin;
  assert.deepEqual(requests.filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:')), []);
  assert.deepEqual(errors, []);
});

test('while the room reads one step the next is computed, so each click answers at once', { timeout: 300_000 }, async () => {
  const { page, errors } = await openPage(site.browser, site.url);
  const seconds = [];
  for (let i = 1; i <= EXPECTED_SERIES.length; i += 1) {
    if (i > 1) {
      // Reading time: the page computes step i meanwhile.
      await page.waitForFunction((n) => document.querySelector(`#workshop-steps > li[data-step="${n}"]`).dataset.prepared === 'yes', i, { timeout: 120_000 });
      assert.equal(await page.locator(`#workshop-chart-${i}`).isVisible(), false, `step ${i} is computed out of sight`);
    }
    const started = Date.now();
    await page.click(`#workshop-run-${i}`);
    await page.waitForFunction((n) => document.querySelector(`#workshop-steps > li[data-step="${n}"]`).dataset.done === 'yes', i, { timeout: 120_000 });
    seconds.push((Date.now() - started) / 1000);
    const series = await legend(page, `#workshop-chart-${i}`);
    for (const name of EXPECTED_SERIES[i - 1]) assert.ok(series.some((s) => s.startsWith(name)), `step ${i}: no series '${name}' in ${JSON.stringify(series)}`);
  }
  console.log(`# workshop steps after reading time: ${seconds.map((s) => s.toFixed(2)).join(', ')} s`);
  assert.ok(seconds.slice(1).every((s) => s < 1), `a prepared step answers in under a second: ${seconds}`);
  await page.click('#present-reset');
  assert.equal(await page.locator('#workshop-outcome-6').textContent(), '');
  assert.deepEqual(errors, []);
});

async function aucOf(page, id) {
  const cell = page.locator(`#metrics-table tr[data-attack="${id}"] td:nth-child(2)`);
  return Number(await cell.textContent());
}

test('top-1 outputs drop the loss attack to chance while the label-only attack keeps working', { timeout: 600_000 }, async () => {
  const { page, errors } = await openPage(site.browser, site.url);
  await page.selectOption('#demo-select', 'support2/overfit');
  await page.click('#demo-load');
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('keep-mask'), null, { timeout: 120_000 });
  for (const box of await page.locator('#attack-list input[type=checkbox]').all()) {
    const id = await box.getAttribute('value');
    if ((await box.isChecked()) !== ['loss', 'label-only'].includes(id)) await box.click();
  }
  await page.click('#run');
  assert.equal(await waitForRun(page), '');
  const open = { loss: await aucOf(page, 'loss'), labelOnly: await aucOf(page, 'label-only') };
  assert.ok(open.loss > 0.7, `undefended loss AUC ${open.loss}`);

  await page.selectOption('#defence-kind', 'top1');
  assert.equal(await page.locator('#defence-value').isDisabled(), true);
  await page.click('#run');
  await page.waitForFunction(() => document.querySelector('#metrics-table tr[data-attack="loss"] td:nth-child(2)')?.textContent === '0.500', null, { timeout: 300_000 });
  const defended = { loss: await aucOf(page, 'loss'), labelOnly: await aucOf(page, 'label-only') };
  assert.equal(defended.loss, 0.5);
  assert.match(await page.locator('#metrics-table tr[data-attack="loss"]').textContent(), /labels only/);
  assert.ok(defended.labelOnly > 0.7, `label-only AUC behind top-1: ${defended.labelOnly}`);
  assert.equal(defended.labelOnly, open.labelOnly);
  await shot(page, 'defence-top1', '#results');

  // A bad parameter is refused with the rule, and the loaded inputs stay.
  await page.selectOption('#defence-kind', 'round');
  await page.fill('#defence-value', 'two');
  await page.click('#run');
  await page.waitForFunction(() => document.getElementById('run-error').textContent.length > 0, null, { timeout: 60_000 });
  assert.match(await page.locator('#run-error').textContent(), /decimals from 0 to 15/);
  await page.fill('#defence-value', '1');
  await page.click('#run');
  await page.waitForFunction(() => document.getElementById('run-error').textContent === '' && document.getElementById('progress-text').textContent.startsWith('done'), null, { timeout: 300_000 });
  assert.ok(Math.abs((await aucOf(page, 'loss')) - open.loss) < 0.02, 'rounding to 1 decimal keeps the loss AUC');
  assert.deepEqual(errors, []);
});
