// Shared set-up of the browser tests: serve the built site (dist/) with the server `npm
// start` runs (scripts/serve.mjs), drive Debian's Chromium through playwright-core, keep
// screenshots and downloads under test-artifacts/, and record every network request a page
// makes.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { zipSync } from 'fflate';
import { readNpy, readVector } from '../../www/src/npy.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const ARTIFACTS = `${ROOT}test-artifacts`;
mkdirSync(ARTIFACTS, { recursive: true });

/** Starts the site's server on `port` (default: a free one); resolves to {url, port, stop}. */
export async function serve(port = 8100 + Math.floor(Math.random() * 800)) {
  const server = spawn(process.execPath, [`${ROOT}scripts/serve.mjs`, '--port', String(port)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  server.stdout.on('data', (d) => (log += d));
  server.stderr.on('data', (d) => (log += d));
  const url = `http://localhost:${port}/`;
  for (let i = 0; i < 100; i += 1) {
    try {
      const response = await fetch(url);
      if (response.ok) return { url, port, stop: () => server.kill() };
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  server.kill();
  throw new Error(`the site server did not start (did 'npm run build' run?):\n${log}`);
}

/**
 * The site and a browser for one test file: started before its tests, stopped after.
 * @param {string[]} [extraArgs] Chromium flags
 * @returns {{url: string, browser: any}}
 */
export function useSite(extraArgs = []) {
  const site = { url: '', browser: null, stop: () => {} };
  before(async () => {
    const server = await serve();
    site.url = server.url;
    site.stop = server.stop;
    site.browser = await launch(extraArgs);
  });
  after(async () => {
    await site.browser?.close();
    site.stop();
  });
  return site;
}

/** Launches headless Chromium from Debian, never a downloaded browser; `extraArgs` adds
 * flags (e.g. --enable-unsafe-webgpu, which gives SwiftShader's WebGPU adapter). */
export function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      ...extraArgs,
    ],
  });
}

/** A fresh page that records every request URL and every console error. */
export async function openPage(browser, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const page = await context.newPage();
  const requests = [];
  const errors = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(String(e) + (process.env.STACKS ? e.stack : '')));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) errors.push(m.text());
  });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="yes"]', { timeout: 60_000 });
  return { page, context, requests, errors };
}

export async function shot(page, name, selector) {
  const target = selector ? page.locator(selector) : page;
  await target.screenshot({ path: `${ARTIFACTS}/${name}.png`, ...(selector ? {} : { fullPage: true }) });
}

/** Waits until the audit finished (results shown) or failed (error shown). */
export async function waitForRun(page, timeout = 300_000) {
  await page.waitForFunction(
    () => !document.getElementById('results').hidden || document.getElementById('run-error').textContent.length > 0,
    null,
    { timeout },
  );
  return page.locator('#run-error').textContent();
}

/**
 * Runs the audit with the engine `choice` (and `workers` model threads on the CPU, when
 * given) and returns the report the page exports, as text.
 */
export async function auditReportWith(/** @type {import('playwright-core').Page} */ page, /** @type {string} */ choice, timeout = 480_000, /** @type {number | undefined} */ workers = undefined) {
  await page.selectOption('#engine-choice', choice);
  if (workers !== undefined) await page.fill('#engine-workers', String(workers));
  // Results of the run before stay on the page: wait for this run's end.
  await page.evaluate(() => { document.getElementById('progress-text').textContent = ''; });
  await page.click('#run');
  await page.waitForFunction(
    () => document.getElementById('progress-text').textContent === 'done' || document.getElementById('run-error').textContent.length > 0,
    null,
    { timeout },
  );
  const error = await page.locator('#run-error').textContent();
  if (error !== '') throw new Error(`the audit with engine ${choice}: ${error}`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-report')]);
  return readFileSync(await download.path(), 'utf8');
}

/** {@link auditReportWith}, parsed. */
export async function auditWith(/** @type {import('playwright-core').Page} */ page, /** @type {string} */ choice, timeout = 480_000, /** @type {number | undefined} */ workers = undefined) {
  return JSON.parse(await auditReportWith(page, choice, timeout, workers));
}

/** Loads demo `name` with its references and ticks exactly `attacks`. */
export async function loadDemo(/** @type {import('playwright-core').Page} */ page, /** @type {string} */ name, /** @type {string[]} */ attacks) {
  await page.selectOption('#demo-select', name);
  await page.click('#demo-load');
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('16 models; keep-mask'), null, { timeout: 180_000 });
  for (const box of await page.locator('#attack-list input[type=checkbox]').all()) {
    const id = await box.getAttribute('value');
    if ((await box.isChecked()) !== attacks.includes(id)) await box.click();
  }
}

/**
 * The series a chart's legend lists, each with the style it is drawn in (read from the
 * legend item's data, which the chart sets from the same style it gives uPlot).
 * @returns {Promise<{label: string, stroke: string, dash: string, width: string, shown: boolean}[]>}
 */
export async function legendSeries(page, selector) {
  return page.$$eval(`${selector} .legend-item`, (items) =>
    items.map((e) => ({ label: e.querySelector('.legend-label').textContent.trim(), stroke: e.dataset.stroke, dash: e.dataset.dash, width: e.dataset.width, shown: e.dataset.shown === 'true' })),
  );
}

/** Fails unless no two series of the chart look the same (colour, dash and width). */
export function assertDistinct(series, where) {
  const looks = series.map((s) => `${s.stroke}|${s.dash}|${s.width}`);
  const clash = looks.findIndex((l, i) => looks.indexOf(l) !== i);
  if (clash >= 0) throw new Error(`${where}: '${series[clash].label}' is drawn like '${series[looks.indexOf(looks[clash])].label}' (${looks[clash]})`);
}

/**
 * The first `n` Fashion-MNIST audit records as PNGs the page's canvas encodes, zipped with a
 * labels.csv (file, label, member) at `${dir}/images.zip`; returns the names, labels,
 * membership, the records' pixels and the zip's files.
 */
export async function fashionImagesZip(/** @type {import('playwright-core').Page} */ page, /** @type {string} */ dir, /** @type {number} */ n) {
  const fm = `${ROOT}models/fashion_mnist`;
  const pixels = readNpy(new Uint8Array(readFileSync(`${fm}/audit_features.npy`)));
  const labels = readVector(new Uint8Array(readFileSync(`${fm}/audit_labels.npy`))).slice(0, n);
  const members = readVector(new Uint8Array(readFileSync(`${fm}/targets/overfit.members.npy`))).slice(0, n);
  const subset = /** @type {Uint8Array} */ (pixels.values).slice(0, n * 28 * 28);
  const names = Array.from({ length: n }, (_, i) => `img-${String(i).padStart(3, '0')}.png`);
  const encoded = await page.evaluate(({ bytes, n }) => {
    const out = [];
    for (let i = 0; i < n; i += 1) {
      const canvas = document.createElement('canvas');
      canvas.width = canvas.height = 28;
      const context = canvas.getContext('2d');
      const image = context.createImageData(28, 28);
      for (let p = 0; p < 784; p += 1) {
        const v = bytes[i * 784 + p];
        image.data.set([v, v, v, 255], 4 * p);
      }
      context.putImageData(image, 0, 0);
      out.push(canvas.toDataURL('image/png').split(',')[1]);
    }
    return out;
  }, { bytes: Array.from(subset), n });
  const files = Object.fromEntries(names.map((name, i) => [name, new Uint8Array(Buffer.from(encoded[i], 'base64'))]));
  files['labels.csv'] = new TextEncoder().encode(['file,label,member', ...names.map((name, i) => `${name},${labels[i]},${members[i]}`)].join('\n') + '\n');
  writeFileSync(`${dir}/images.zip`, zipSync(files));
  return { names, labels, members, subset, files };
}
