// Image uploads: Fashion-MNIST records the test encodes as PNGs itself, zipped with a
// labels.csv, audited in the page; the losses equal the CLI's on the same records in .npy
// (PNG is lossless, so both paths see the same pixels), and the most exposed images show.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { zipSync } from 'fflate';
import { uint8Npy, int64Npy, boolNpy } from '../../www/src/npy.js';
import { ROOT, useSite, openPage, shot, waitForRun, fashionImagesZip } from './harness.mjs';

const N = 40;
const site = useSite();

function parseCsv(text) {
  const [header, ...rows] = text.trim().split('\n').map((l) => l.split(','));
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

test('a zip of PNG images with labels.csv is audited like the same records in .npy', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(`${tmpdir()}/mialab-images-`);
  const fm = `${ROOT}models/fashion_mnist`;
  const { page, errors } = await openPage(site.browser, site.url);
  const { names, labels, members, subset, files } = await fashionImagesZip(page, dir, N);

  // The same records for the CLI, as .npy.
  writeFileSync(`${dir}/x.npy`, uint8Npy(subset, [N, 1, 28, 28]));
  writeFileSync(`${dir}/y.npy`, int64Npy(labels));
  writeFileSync(`${dir}/m.npy`, boolNpy(members.map(Boolean)));
  writeFileSync(`${dir}/ids.txt`, names.join('\n'));
  const binary = process.env.MIALAB_BIN || `${ROOT}target/debug/mialab`;
  execFileSync(binary, ['audit', '--model', `${fm}/targets/overfit.onnx`, '--records', `${dir}/x.npy`, '--labels', `${dir}/y.npy`, '--membership', `${dir}/m.npy`, '--ids', `${dir}/ids.txt`, '--attack', 'loss', '-q', '--per-record', `${dir}/cli.csv`]);
  const cli = new Map(parseCsv(readFileSync(`${dir}/cli.csv`, 'utf8')).map((r) => [r.id, Number(r.loss)]));

  await page.setInputFiles('#upload-model', `${fm}/targets/overfit.onnx`);
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('[1,28,28]'));
  await page.setInputFiles('#upload-images', `${dir}/images.zip`);
  await page.waitForFunction((n) => document.getElementById('loaded-summary').textContent.includes(`${n} records`), N);
  assert.equal(await page.locator('#upload-images-error').textContent(), '');
  for (const box of await page.locator('#attack-list input[type=checkbox]:not([disabled])').all()) {
    if ((await box.getAttribute('value')) !== 'loss' && (await box.isChecked())) await box.click();
  }
  await page.click('#run');
  assert.equal(await waitForRun(page), '');
  assert.equal(await page.locator('#thumbnails canvas').count(), 12);
  await shot(page, 'images-most-exposed', '#results');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
  const rows = parseCsv(readFileSync(await download.path(), 'utf8'));
  assert.equal(rows.length, N);
  for (const row of rows) {
    const expected = cli.get(row.id);
    const loss = Number(row.loss);
    assert.ok(Math.abs(loss - expected) <= 1e-4 * (1 + Math.abs(expected)), `${row.id}: page loss ${loss} vs CLI ${expected}`);
    assert.equal(row.member, String(members[names.indexOf(row.id)]));
  }
  assert.deepEqual(errors, []);

  // A zip without labels is refused by name and nothing is lost.
  writeFileSync(`${dir}/nolabels.zip`, zipSync({ [names[0]]: files[names[0]] }));
  await page.setInputFiles('#upload-images', `${dir}/nolabels.zip`);
  await page.waitForFunction(() => document.getElementById('upload-images-error').textContent.includes('labels'));
  assert.match(await page.locator('#loaded-summary').textContent(), new RegExp(`${N} records`));
});
