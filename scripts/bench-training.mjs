// Reference-training benchmark: the same K reference models of a zoo target trained by the
// CLI (`mialab train-references`, every core) and in the page in headless Chromium (a pool of
// Web Workers, one per core), timed in one run; each prints the time, records×epochs/s, and
// LiRA online's TPR at 0.1% FPR with the references it trained (the CLI's audit; in the page,
// the page's own audit).
// Run: cargo build --release && npm run build && node scripts/bench-training.mjs
//   [--target support2/overfit] [--k 16] [--epochs N] [--no-page] [--no-cli] [--gpu]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { serve, launch, openPage } from '../tests/browser/harness.mjs';

const ROOT = new URL('../', import.meta.url).pathname;
const option = (name, fallback) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : fallback);
const target = option('target', 'support2/overfit');
const k = Number(option('k', '16'));
const epochs = option('epochs', '');
const [dataset, recipe] = target.split('/');
const zoo = `${ROOT}models/${dataset}`;
const MIALAB = `${ROOT}target/release/mialab`;
const dir = mkdtempSync(`${tmpdir()}/mialab-bench-training-`);

function tprAtTenthPercent(report) {
  const lira = report.attacks.find((a) => a.id === 'lira-online');
  return lira.metrics.tpr_at_fpr.find((t) => t.fpr === 0.001).tpr;
}

console.log(`${cpus().length} CPU threads (${cpus()[0].model}); ${target}: ${k} reference models, ${epochs || 'default'} epochs`);
console.log('| where | time | records×epochs/s | LiRA online TPR@0.1% |');
console.log('|---|---|---|---|');

/** Trains the references with the CLI on `device` and prints its row. */
function cliRow(/** @type {string} */ device, /** @type {string} */ label) {
  const out = `${dir}/cli-${device}`;
  const started = Date.now();
  execFileSync(MIALAB, ['train-references', '--zoo', target, '--k', String(k), ...(epochs ? ['--epochs', epochs] : []), '--device', device, '--out', out, '-q'], { cwd: ROOT, stdio: 'ignore' });
  const seconds = (Date.now() - started) / 1000;
  const log = JSON.parse(readFileSync(`${out}/training.json`, 'utf8'));
  execFileSync(MIALAB, ['audit', '--model', `${zoo}/targets/${recipe}.onnx`, '--records', `${zoo}/audit_features.npy`, '--labels', `${zoo}/audit_labels.npy`,
    '--membership', `${zoo}/targets/${recipe}.members.npy`, '--ids', `${zoo}/audit_ids.txt`, '--population', `${zoo}/population_features.npy`,
    '--population-labels', `${zoo}/population_labels.npy`, '--population-ids', `${zoo}/population_ids.txt`, '--references', out, '--keep-mask', `${out}/keep.npy`,
    '--attack', 'lira-online', '-q', '--out', `${dir}/cli-${device}-report.json`], { cwd: ROOT, stdio: 'ignore' });
  const tpr = tprAtTenthPercent(JSON.parse(readFileSync(`${dir}/cli-${device}-report.json`, 'utf8')));
  console.log(`| ${label}: ${log.device} | ${seconds.toFixed(1)} s (training ${log.seconds.toFixed(1)} s) | ${Math.round(log.records_epochs_per_second).toLocaleString('en')} | ${(100 * tpr).toFixed(2)}% |`);
}

if (!process.argv.includes('--no-cli')) cliRow('cpu', 'CLI (native, every core)');
// `--gpu`: the GPU's training kernels too, on whatever adapter there is.
if (process.argv.includes('--gpu')) cliRow('gpu', 'CLI, GPU training kernels');

if (!process.argv.includes('--no-page')) {
  const site = await serve();
  const browser = await launch();
  try {
    const { page } = await openPage(browser, site.url);
    await page.setInputFiles('#upload-model', `${zoo}/targets/${recipe}.onnx`);
    await page.setInputFiles('#upload-npy', [`${zoo}/audit_features.npy`, `${zoo}/audit_labels.npy`, `${zoo}/targets/${recipe}.members.npy`]);
    await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('members'));
    await page.setInputFiles('#upload-population-npy', [`${zoo}/population_features.npy`, `${zoo}/population_labels.npy`]);
    await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('known non-members'));
    await page.fill('#train-k', String(k));
    await page.fill('#train-epochs', epochs);
    const workers = await page.locator('#train-workers').inputValue();
    const started = Date.now();
    await page.click('#train-start');
    await page.waitForFunction(() => document.getElementById('train-status').textContent.startsWith('trained') || document.getElementById('train-error').textContent.length > 0, null, { timeout: 3_600_000, polling: 1000 });
    const seconds = (Date.now() - started) / 1000;
    const error = await page.locator('#train-error').textContent();
    if (error) throw new Error(error);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#train-download')]);
    const { unzipSync } = await import('fflate');
    const log = JSON.parse(new TextDecoder().decode(unzipSync(readFileSync(await download.path()))['training.json']));
    await page.waitForFunction(() => !document.getElementById('attack-lira-online').disabled);
    for (const box of await page.locator('#attack-list input[type=checkbox]').all()) {
      if ((await box.isDisabled()) || (await box.isChecked()) === ((await box.getAttribute('value')) === 'lira-online')) continue;
      await box.click();
    }
    await page.click('#run');
    await page.waitForFunction(() => !document.getElementById('results').hidden || document.getElementById('run-error').textContent.length > 0, null, { timeout: 600_000 });
    const [report] = await Promise.all([page.waitForEvent('download'), page.click('#export-report')]).then(async ([d]) => [JSON.parse(readFileSync(await d.path(), 'utf8'))]);
    console.log(`| page (Chromium, ${workers} Web Workers) | ${seconds.toFixed(1)} s (training ${log.seconds.toFixed(1)} s) | ${Math.round(log.records_epochs_per_second).toLocaleString('en')} | ${(100 * tprAtTenthPercent(report)).toFixed(2)}% |`);
  } finally {
    await browser.close();
    site.stop();
  }
}
