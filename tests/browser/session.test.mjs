// The engine decides what runs again: the page sends its settings, the session runs only
// the models they invalidate and says so. And the page's defaults are the library's, the
// same the CLI prints with `mialab settings`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ROOT, useSite, openPage, shot, waitForRun } from './harness.mjs';

const site = useSite();

async function choose(page, ids) {
  for (const box of await page.locator('#attack-list input[type=checkbox]').all()) {
    const id = await box.getAttribute('value');
    if ((await box.isChecked()) !== ids.includes(id)) await box.click();
  }
}

async function run(page) {
  await page.evaluate(() => {
    document.getElementById('results').hidden = true;
  });
  await page.click('#run');
  assert.equal(await waitForRun(page), '');
  const info = page.locator('#run-info');
  return { text: await info.textContent(), cached: await info.getAttribute('data-cached'), attackSeconds: Number(await info.getAttribute('data-attack-seconds')) };
}

test('a new attack runs only its models, a new parameter runs none', { timeout: 600_000 }, async () => {
  const { page, errors } = await openPage(site.browser, site.url);
  await page.selectOption('#demo-select', 'support2/overfit');
  await page.click('#demo-load');
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('16 models; keep-mask'), null, { timeout: 120_000 });

  await choose(page, ['loss']);
  const first = await run(page);
  assert.match(first.text, /models ran: the target on the audit records [\d.]+ s, the target on the population/);
  assert.doesNotMatch(first.text, /reference/, 'the loss attack runs no reference model');

  await choose(page, ['loss', 'lira-online']);
  const second = await run(page);
  assert.match(second.text, /models ran: the reference models on the audit records [\d.]+ s, the reference models on the population/);
  assert.doesNotMatch(second.text, /the target/, 'the target answers are served from the cache');
  assert.ok(await page.locator('#metrics-table tr[data-attack="lira-online"]').count() === 1);

  await page.fill('#param-rmia-gamma', '2');
  const third = await run(page);
  await shot(page, 'session-cached', '#attacks');
  console.log(`# runs: ${first.text} | ${second.text} | ${third.text}`);
  assert.equal(third.cached, 'true');
  assert.match(third.text, /models: cached/);
  assert.ok(third.attackSeconds < 1, `attack time ${third.attackSeconds} s`);
  assert.match(await page.locator('#results-summary').textContent(), /models: cached/);
  assert.deepEqual(errors, []);
});

test('the page starts from the library\'s defaults, the ones the CLI prints', { timeout: 120_000 }, async () => {
  const { page } = await openPage(site.browser, site.url);
  const sent = JSON.parse(await page.locator('#settings-json').textContent());
  const binary = process.env.MIALAB_BIN || `${ROOT}target/debug/mialab`;
  const cli = JSON.parse(execFileSync(binary, ['settings'], { cwd: ROOT }).toString());
  // The page fills the attack list with every attack the inputs allow; the CLI leaves it
  // empty, which means the same.
  assert.ok(Array.isArray(sent.attacks));
  assert.deepEqual({ ...sent, attacks: [] }, cli);
  assert.equal(await page.locator('#param-rmia-a').inputValue(), String(cli.params.rmia.a));
  assert.equal(await page.locator('#param-seed').inputValue(), String(cli.seed));
});
