// Drives one audit of a large uploaded CSV in the page, for the million-record test and the
// large-input benchmark (scripts/bench-large.mjs): uploads the model, records and population,
// runs the chosen attacks, and measures the load and run times, the longest task the page's
// main thread ran meanwhile (a PerformanceObserver for long tasks, i.e. ≥ 50 ms) and the
// engine's wasm memory.

/** Starts recording the longest main-thread task. @param {any} page */
async function watchLongTasks(page) {
  await page.evaluate(() => {
    window.longestTask = 0;
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.longestTask = Math.max(window.longestTask, entry.duration);
    }).observe({ type: 'longtask' });
  });
}

/**
 * @param {any} page a page opened on the site (harness.openPage)
 * @param {{model: string, records: string, population: string, attacks: string[], count: number}} inputs
 *   files to upload, attack ids, and how many audit records the CSV holds
 */
export async function auditLargeCsv(page, { model, records, population, attacks, count }) {
  await watchLongTasks(page);
  await page.setInputFiles('#upload-model', model);
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('parameters'));
  const loadStart = Date.now();
  await page.setInputFiles('#upload-records', records);
  const shown = count.toLocaleString('en');
  await page.waitForFunction(
    ([plain, grouped]) => {
      const text = document.getElementById('loaded-summary').textContent;
      return text.includes(`${plain} records`) || text.includes(`${grouped} records`) || document.getElementById('upload-records-error').textContent.length > 0;
    },
    [String(count), shown],
    { timeout: 900_000, polling: 500 },
  );
  const recordsError = await page.locator('#upload-records-error').textContent();
  if (recordsError) throw new Error(`records did not load: ${recordsError}`);
  await page.setInputFiles('#upload-population', population);
  await page.waitForFunction(() => document.getElementById('loaded-summary').textContent.includes('known non-members') || document.getElementById('upload-population-error').textContent.length > 0, null, { timeout: 900_000, polling: 500 });
  const populationError = await page.locator('#upload-population-error').textContent();
  if (populationError) throw new Error(`population did not load: ${populationError}`);
  const loadSeconds = (Date.now() - loadStart) / 1000;
  // The attacks that need the population become available once the engine has it.
  await page.waitForFunction((ids) => ids.every((id) => !document.getElementById(`attack-${id}`)?.disabled), attacks, { timeout: 60_000 });
  for (const box of await page.locator('#attack-list input[type=checkbox]').all()) {
    const id = (await box.getAttribute('id')).replace(/^attack-/, '');
    if ((await box.isChecked()) !== attacks.includes(id) && !(await box.isDisabled())) await box.click();
  }
  const runStart = Date.now();
  await page.click('#run');
  await page.waitForFunction(
    () => !document.getElementById('results').hidden || document.getElementById('run-error').textContent.length > 0,
    null,
    { timeout: 1_800_000, polling: 500 },
  );
  const runError = await page.locator('#run-error').textContent();
  if (runError) throw new Error(`the audit failed: ${runError}`);
  await page.waitForFunction(() => document.querySelectorAll('#record-table tbody tr').length > 0, null, { timeout: 120_000 });
  const runSeconds = (Date.now() - runStart) / 1000;
  const worker = page.workers().find((w) => w.url().includes('worker'));
  const wasmBytes = worker ? await worker.evaluate(() => self.engineMemory()) : null;
  const longestTask = await page.evaluate(() => window.longestTask);
  return { loadSeconds, runSeconds, wasmBytes, longestTask };
}
