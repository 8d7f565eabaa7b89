// Large-input benchmark: synthetic SUPPORT2-shaped audit sets of 10k, 100k and 1M records
// (each with a population a tenth its size; scripts/synthetic-records.mjs) audited with the
// six population attacks by the CLI (wall time and peak resident memory, from /usr/bin/time)
// and in the page in headless Chromium (load and run times, the engine's wasm memory, the
// longest main-thread task). Memory is compared with the parsed records' features (float32).
// Run: cargo build --release && npm run build && node scripts/bench-large.mjs [--sizes 10000,100000,1000000] [--no-page]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { serve, launch, openPage } from '../tests/browser/harness.mjs';
import { auditLargeCsv } from '../tests/browser/large-audit.mjs';

const ROOT = new URL('../', import.meta.url).pathname;
const option = (name, fallback) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : fallback);
const sizes = option('sizes', '10000,100000,1000000').split(',').map(Number);
const withPage = !process.argv.includes('--no-page');
const ATTACKS = ['loss', 'confidence', 'entropy', 'modified-entropy', 'loss-per-class', 'confidence-per-class'];
const MODEL = `${ROOT}models/support2/targets/overfit.onnx`;
const FEATURES = 64;
const mib = (bytes) => (bytes / 2 ** 20).toFixed(0);

const dir = mkdtempSync(`${tmpdir()}/mialab-bench-large-`);
const site = withPage ? await serve() : null;
const browser = withPage ? await launch() : null;
console.log(`${cpus().length} CPU threads (${cpus()[0].model}); attacks: ${ATTACKS.join(', ')}; 1000 bootstrap resamples each`);
console.log('| audit records | parsed features | CLI time | CLI peak memory | ÷ parsed | page load | page run | wasm memory | ÷ parsed | longest main-thread task |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
try {
  for (const n of sizes) {
    const records = `${dir}/audit-${n}.csv`;
    const population = `${dir}/population-${n}.csv`;
    execFileSync(process.execPath, [`${ROOT}scripts/synthetic-records.mjs`, '--records', String(n), '--out', records, '--population', String(n / 10), '--population-out', population]);
    const parsed = (n + n / 10) * FEATURES * 4;
    execFileSync('/usr/bin/time', ['-o', `${dir}/time.txt`, '-f', '%e %M', `${ROOT}target/release/mialab`, 'audit', '--model', MODEL, '--records', records, '--population', population, '--attack', ATTACKS.join(','), '-q', '--out', `${dir}/report.json`, '--per-record', `${dir}/per-record.csv`], { stdio: 'ignore' });
    const [seconds, kib] = readFileSync(`${dir}/time.txt`, 'utf8').trim().split(' ').map(Number);
    const cli = `${seconds.toFixed(1)} s | ${mib(kib * 1024)} MiB | ${((kib * 1024) / parsed).toFixed(2)}×`;
    let page = '- | - | - | - | -';
    if (withPage) {
      const opened = await openPage(browser, site.url);
      const m = await auditLargeCsv(opened.page, { model: MODEL, records, population, attacks: ATTACKS, count: n });
      page = `${m.loadSeconds.toFixed(1)} s | ${m.runSeconds.toFixed(1)} s | ${mib(m.wasmBytes)} MiB | ${(m.wasmBytes / parsed).toFixed(2)}× | ${m.longestTask} ms`;
      await opened.context.close();
    }
    console.log(`| ${n.toLocaleString('en')} | ${mib(parsed)} MiB | ${cli} | ${page} |`);
    rmSync(records);
    rmSync(population);
  }
} finally {
  await browser?.close();
  site?.stop();
  rmSync(dir, { recursive: true, force: true });
}
