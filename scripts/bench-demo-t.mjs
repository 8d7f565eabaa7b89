// The page's demo against the CLI, in one run: in headless Chromium the built site runs a
// zoo demo (default: support2/overfit) with the attacks the page checks by default and its
// default model workers (one per core), timed from the Run click to the results; then the
// release CLI audits the same zoo target with the same attacks on every core, timed as a
// process. Prints both, the page's own split (models, attacks) and the ratio page / CLI.
// Run: npm run build && cargo build --release && node scripts/bench-demo.mjs [--demo support2/overfit] [--repeats 2]
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { ROOT, serve, launch, openPage, waitForRun } from '../tests/browser/harness.mjs';

const option = (name, fallback) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : fallback);
const demo = option('demo', 'support2/overfit');
const repeats = Number(option('repeats', '2'));
const binary = process.env.MIALAB_BIN || `${ROOT}target/release/mialab`;

const server = await serve();
const browser = await launch();
let pageBest = Infinity;
let summary = '';
let attacks = [];
try {
  for (let i = 0; i < repeats; i += 1) {
    // A fresh page each time: the page caches the signals of a run it has already done.
    const { page, context, errors } = await openPage(browser, server.url);
    await page.selectOption('#demo-select', demo);
    await page.click('#demo-load');
    await page.waitForFunction(() => /keep-mask/.test(document.getElementById('loaded-summary').textContent), null, { timeout: 180_000 });
    attacks = await page.$$eval('#attack-list input[type=checkbox]', (boxes) => boxes.filter((b) => b.checked && !b.disabled).map((b) => b.value));
    const started = performance.now();
    page.on("console", (m) => { if (m.text().includes("TIMING")) console.log(m.text()); }); await page.click("#run");
    const error = await waitForRun(page, 600_000);
    const seconds = (performance.now() - started) / 1000;
    if (error) throw new Error(`the page's run failed: ${error}`);
    if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
    summary = await page.locator('#results-summary').textContent();
    pageBest = Math.min(pageBest, seconds);
    await context.close();
  }
} finally {
  await browser.close();
  server.stop();
}

let cliBest = Infinity;
for (let i = 0; i < repeats; i += 1) {
  const started = performance.now();
  execFileSync(binary, ['audit', '--zoo', demo, '--zoo-dir', `${ROOT}models`, '--attack', attacks.join(','), '-q', '--out', '/dev/null'], { cwd: ROOT });
  cliBest = Math.min(cliBest, (performance.now() - started) / 1000);
}

console.log(`${demo}, ${attacks.length} attacks (${attacks.join(', ')}); ${cpus().length} CPU threads (${cpus()[0].model}); best of ${repeats}`);
console.log(`page (headless Chromium, Run click to results): ${pageBest.toFixed(2)} s`);
console.log(`  the page's own account: ${summary}`);
console.log(`CLI (${binary.replace(ROOT, '')}, whole process): ${cliBest.toFixed(2)} s`);
console.log(`ratio page / CLI: ${(pageBest / cliBest).toFixed(2)}×`);
