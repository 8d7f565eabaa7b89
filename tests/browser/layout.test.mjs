// Every view at a phone's, a tablet's and a laptop's width: nothing overflows the viewport,
// axe-core finds no serious or critical accessibility violation, and a screenshot of each
// view lands in test-artifacts/. Then the presenter view: keyboard navigation, large type,
// and a reset that reaches the page's other tabs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ROOT, useSite, openPage, shot, waitForRun } from './harness.mjs';

const site = useSite();
const AXE = readFileSync(`${ROOT}node_modules/axe-core/axe.min.js`, 'utf8');
const WIDTHS = [390, 768, 1280];

/** Elements that stick out of the viewport, unless a scrolling box holds them. */
async function overflow(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const scrolls = (/** @type {Element} */ e) => {
      for (let p = e.parentElement; p; p = p.parentElement) {
        const x = getComputedStyle(p).overflowX;
        if (x === 'auto' || x === 'scroll' || x === 'hidden') return true;
      }
      return false;
    };
    const out = [];
    for (const e of document.querySelectorAll('body *')) {
      const r = e.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if ((r.right > width + 1 || r.left < -1) && !scrolls(e)) out.push(`${e.tagName.toLowerCase()}${e.id ? `#${e.id}` : ''}${e.className && typeof e.className === 'string' ? `.${e.className.split(' ')[0]}` : ''} [${Math.round(r.left)}, ${Math.round(r.right)}]`);
    }
    return { scrollWidth: document.documentElement.scrollWidth, width, offenders: out.slice(0, 10) };
  });
}

/** axe-core's serious and critical violations on the page as it is now. */
async function axe(page) {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE);
  const violations = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations);
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help}; ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | ')}`);
}

async function check(page, view, width) {
  const o = await overflow(page);
  assert.ok(o.scrollWidth <= o.width && o.offenders.length === 0, `${view} at ${width} px overflows (${o.scrollWidth} > ${o.width}): ${o.offenders.join(', ')}`);
  assert.deepEqual(await axe(page), [], `${view} at ${width} px`);
  await shot(page, `view-${view}-${width}`);
}

async function runStep(page, n) {
  await page.click(`#workshop-run-${n}`);
  await page.waitForFunction((i) => {
    const item = document.querySelector(`#workshop-steps > li[data-step="${i}"]`);
    return item.dataset.done === 'yes' || item.querySelector('.error').textContent.length > 0;
  }, n, { timeout: 120_000 });
  assert.equal(await page.locator(`#workshop-steps > li[data-step="${n}"] .error`).textContent(), '');
}

for (const width of WIDTHS) {
  test(`every view at ${width} px: no overflow, axe-core clean`, { timeout: 600_000 }, async () => {
    const { page, context, errors } = await openPage(site.browser, site.url);
    await page.setViewportSize({ width, height: 900 });
    await check(page, 'start', width);
    for (let n = 1; n <= 6; n += 1) await runStep(page, n);
    await check(page, 'workshop', width);
    await page.selectOption('#demo-select', 'support2/overfit');
    await page.click('#demo-load');
    await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('keep-mask:'), null, { timeout: 120_000 });
    await page.click('#run');
    assert.equal(await waitForRun(page), '');
    await check(page, 'results', width);
    await page.click('#present-toggle');
    await check(page, 'presenter', width);
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test('the narrowest phone the layout supports (360 px): the start and a workshop step fit', { timeout: 300_000 }, async () => {
  const { page, context, errors } = await openPage(site.browser, site.url);
  await page.setViewportSize({ width: 360, height: 800 });
  await check(page, 'start', 360);
  await runStep(page, 4);
  await check(page, 'workshop', 360);
  assert.deepEqual(errors, []);
  await context.close();
});

test('presenter view: keyboard steps, large type, and a reset every tab follows', { timeout: 300_000 }, async () => {
  const { page, context, errors } = await openPage(site.browser, `${site.url}?present#step-2`);
  const other = await context.newPage();
  await other.goto(site.url);
  await other.waitForSelector('body[data-ready="yes"]');
  const visible = () => page.$$eval('#workshop-steps > li', (items) => items.filter((i) => getComputedStyle(i).display !== 'none').map((i) => i.dataset.step));
  assert.equal(await page.evaluate(() => document.body.classList.contains('presenting')), true, '?present opens the presenter view');
  assert.deepEqual(await visible(), ['2'], '#step-2 opens step 2 alone');
  const size = await page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
  assert.ok(size >= 22, `large type for a projector: ${size} px`);
  assert.equal(await page.locator('#choose').isVisible(), false, 'the lab sections are out of the way');
  await page.keyboard.press('ArrowLeft');
  assert.deepEqual(await visible(), ['1']);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#workshop-steps > li[data-step="1"]').dataset.done === 'yes', null, { timeout: 60_000 });
  await other.click('#workshop-run-1');
  await other.waitForFunction(() => document.querySelector('#workshop-steps > li[data-step="1"]').dataset.done === 'yes', null, { timeout: 60_000 });
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('PageDown');
  assert.deepEqual(await visible(), ['3']);
  assert.match(page.url(), /#step-3$/);
  await shot(page, 'presenter-step-3');
  await page.click('#present-reset');
  assert.deepEqual(await visible(), ['1']);
  assert.equal(await page.locator('#workshop-outcome-1').textContent(), '');
  // The other tab was reset too: its step 1 lost its outcome.
  await other.waitForFunction(() => document.getElementById('workshop-outcome-1').textContent === '', null, { timeout: 5_000 });
  await page.keyboard.press('Escape');
  assert.equal(await page.evaluate(() => document.body.classList.contains('presenting')), false);
  assert.deepEqual(errors, []);
  await context.close();
});
