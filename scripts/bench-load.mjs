// Page-load benchmark of the built site as `npm start` serves it: cold (an empty browser
// profile) and warm (a reload, served by the service worker) loads, unthrottled and at
// 20 Mbit/s with 40 ms latency, in Debian's headless Chromium. Prints the bytes transferred
// before the page is ready, when the engine answered its first call (engine ready) and when
// the page could be used (page ready), from the page's own performance marks; the bytes are
// the body bytes the server sent (the page's, its engine worker's, the service worker's).
// Run: npm run build && node scripts/bench-load.mjs [--runs 3]
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const ROOT = new URL('../', import.meta.url).pathname;
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 3;
const PROFILES = {
  unthrottled: null,
  '20 Mbit/s, 40 ms': { offline: false, latency: 40, downloadThroughput: (20e6 / 8), uploadThroughput: (20e6 / 8) },
};

async function serve(extra = []) {
  const port = 8900 + Math.floor(Math.random() * 90);
  const server = spawn(process.execPath, [`${ROOT}scripts/serve.mjs`, '--port', String(port), '--log-bytes', ...extra], { stdio: ['ignore', 'pipe', 'ignore'] });
  const site = { url: `http://localhost:${port}/`, sent: 0, stop: () => server.kill() };
  let pending = '';
  server.stdout.on('data', (chunk) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop();
    for (const line of lines) if (line.startsWith('{')) site.sent += JSON.parse(line).bytes;
  });
  for (let i = 0; i < 100; i += 1) {
    try {
      if ((await fetch(site.url)).ok) return site;
    } catch {
      await sleep(100);
    }
  }
  throw new Error('the site server did not start (run npm run build first)');
}

/** One load of `site` in `page`: bytes the server sent until ready, and the page's marks. */
async function load(page, site, conditions, reload) {
  const url = site.url;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  if (conditions) await cdp.send('Network.emulateNetworkConditions', conditions);
  await sleep(200);
  const before = site.sent;
  const started = Date.now();
  if (reload) await page.reload();
  else await page.goto(url);
  await page.waitForSelector('body[data-ready="yes"]', { timeout: 120_000 });
  const wall = Date.now() - started;
  await sleep(100);
  const bytes = site.sent - before;
  const marks = await page.evaluate(() => Object.fromEntries(performance.getEntriesByType('mark').map((m) => [m.name, m.startTime])));
  await cdp.detach();
  return { bytes, wall, engine: marks['engine-ready'], ready: marks['page-ready'] };
}

const median = (values) => values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)];

const site = await serve();
const plainSite = await serve(['--plain']);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
});
console.log(`| profile | load | body bytes sent before ready | engine ready (median of ${runs}) | page ready (median) |`);
console.log('|---|---|---|---|---|');
for (const [name, conditions] of Object.entries(PROFILES)) {
  const results = { cold: [], warm: [], 'cold, uncompressed': [] };
  for (let i = 0; i < runs; i += 1) {
    const plain = await browser.newContext();
    results['cold, uncompressed'].push(await load(await plain.newPage(), plainSite, conditions, false));
    await plain.close();
    const context = await browser.newContext();
    const page = await context.newPage();
    results.cold.push(await load(page, site, conditions, false));
    // Let the service worker install and cache the shell before the warm load.
    await page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller !== null, null, { timeout: 60_000 }).catch(() => {});
    await sleep(500);
    results.warm.push(await load(page, site, conditions, true));
    await context.close();
  }
  for (const kind of ['cold, uncompressed', 'cold', 'warm']) {
    const r = results[kind];
    const mb = (median(r.map((x) => x.bytes)) / 1e6).toFixed(2);
    const s = (key) => `${(median(r.map((x) => x[key])) / 1000).toFixed(2)} s`;
    console.log(`| ${name} | ${kind} | ${mb} MB | ${s('engine')} | ${s('ready')} |`);
  }
}
await browser.close();
site.stop();
plainSite.stop();
