// "Bring your own outputs" in the page: the target's outputs uploaded instead of a model (a
// scores-only CSV, and an .npz with reference models' outputs and their keep-mask) give the
// report the CLI gives on the same files; a bad file gets its message and loses nothing.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { ROOT, useSite, openPage, shot, waitForRun } from './harness.mjs';

const site = useSite();
const DIR = `${ROOT}models/fixtures/outputs`;
let dir;
before(() => {
  dir = mkdtempSync(`${tmpdir()}/mialab-outputs-`);
});

function cliReport(file, attacks) {
  const binary = process.env.MIALAB_BIN || `${ROOT}target/debug/mialab`;
  const out = `${dir}/${file}.json`;
  execFileSync(binary, ['audit', '--outputs', `${DIR}/${file}`, '--attack', attacks, '-q', '--out', out]);
  return JSON.parse(readFileSync(out, 'utf8'));
}

async function chooseAttacks(page, ids) {
  for (const box of await page.locator('#attack-list input[type=checkbox]').all()) {
    if ((await box.isChecked()) !== ids.includes(await box.getAttribute('value'))) await box.click();
  }
}

async function pageReport(page) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-report')]);
  return JSON.parse(readFileSync(await download.path(), 'utf8'));
}

/** The report without what names files (the page knows a file's name, the CLI its path). */
function comparable(report) {
  const copy = structuredClone(report);
  for (const section of ['model', 'records', 'population', 'references']) if (copy[section]) delete copy[section].source;
  delete copy.mialab_version;
  delete copy.created;
  return copy;
}

/**
 * The same report: equal structure and text, numbers equal to 1e-9 relative (the wasm build's
 * ln, exp and erfc are not glibc's, and round differently in the last bits).
 */
function assertSameReport(a, b, at) {
  if (typeof a === 'number' && typeof b === 'number') {
    assert.ok(a === b || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)), `${at}: ${a} on the page, ${b} from the CLI`);
  } else if (a && b && typeof a === 'object' && typeof b === 'object') {
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), at);
    for (const key of Object.keys(a)) assertSameReport(a[key], b[key], `${at}.${key}`);
  } else {
    assert.equal(a, b, at);
  }
}

for (const [file, attacks, expectSummary] of [
  ['wine_logits.csv', ['loss', 'confidence', 'entropy', 'modified-entropy'], /provided logits, 3 classes/],
  ['wine_with_references.npz', ['loss', 'lira-online', 'lira-offline', 'calibrated-loss', 'shokri'], /8 models/],
]) {
  test(`outputs uploaded instead of a model (${file}) give the CLI's report`, { timeout: 300_000 }, async () => {
    const { page, errors } = await openPage(site.browser, site.url);
    await page.setInputFiles('#upload-outputs', `${DIR}/${file}`);
    await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('none runs here'));
    assert.equal(await page.locator('#upload-outputs-error').textContent(), '');
    const summary = await page.locator('#loaded-summary').textContent();
    assert.match(summary, /178 records/);
    assert.match(summary, /89 members, 89 non-members/);
    assert.match(summary, expectSummary);
    await chooseAttacks(page, attacks);
    await page.click('#run');
    assert.equal(await waitForRun(page), '');
    await shot(page, `outputs-${file.replace('.', '-')}`);
    const fromPage = comparable(await pageReport(page));
    const fromCli = comparable(cliReport(file, attacks.join(',')));
    assert.deepEqual(fromPage.attacks.map((a) => a.id), attacks);
    assertSameReport(fromPage, fromCli, 'report');
    assert.deepEqual(errors, []);
  });
}

test('bad outputs get a clear message and keep what was loaded; a model afterwards starts afresh', { timeout: 300_000 }, async () => {
  const { page, errors } = await openPage(site.browser, site.url);
  await page.setInputFiles('#upload-outputs', `${DIR}/wine_losses.csv`);
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('provided losses'));
  // Entropy needs the whole probability vector, which losses do not give.
  const entropy = page.locator('#attack-list input[value="entropy"]');
  await page.waitForFunction(() => document.querySelector('#attack-list input[value="entropy"]')?.disabled === true);
  assert.equal(await entropy.isDisabled(), true);

  const broken = `${dir}/broken.csv`;
  writeFileSync(broken, 'label,member,a,b\n0,1,0.2,oops\n');
  await page.setInputFiles('#upload-outputs', broken);
  await page.waitForFunction(() => document.getElementById('upload-outputs-error').textContent.length > 0);
  assert.match(await page.locator('#upload-outputs-error').textContent(), /line 2, column 'b'.*not a number/);
  assert.match(await page.locator('#loaded-summary').textContent(), /wine_losses\.csv/);
  await chooseAttacks(page, ['loss']);
  await page.click('#run');
  assert.equal(await waitForRun(page), '', 'the losses loaded before still audit');

  await page.setInputFiles('#upload-model', `${ROOT}models/fixtures/exporters/wine_logreg.onnx`);
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('wine_logreg.onnx:'));
  assert.match(await page.locator('#loaded-summary').textContent(), /Audit records\s*none yet/);
  assert.deepEqual(errors, []);
});
