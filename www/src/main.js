// The page: wires its sections (inputs, attacks, run, results, workshop) to the engine in
// its worker and to the one store that holds what the page shows.
import { Engine } from './engine.js';
import { createStore } from './store.js';
import { setupInputs } from './inputs.js';
import { setupAttacks } from './attacks.js';
import { progress, setupRun } from './run.js';
import { setupResults } from './results.js';
import { setupWorkshop } from './workshop.js';
import { setupOffline } from './offline.js';
import { setupPresenter } from './presenter.js';
import { setupTraining } from './train.js';

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

async function main() {
  const engine = new Engine();
  const store = createStore();
  const inputs = setupInputs(store, engine, progress);
  const attacks = setupAttacks(store);
  const results = setupResults(store, engine);
  const run = setupRun(store, engine, attacks, results.show);
  setupTraining(store, engine, inputs);
  try {
    const catalogue = await engine.call('catalogue');
    performance.mark('engine-ready');
    store.update({
      catalogue,
      defaults: JSON.parse(await engine.call('defaultConfig')),
      availability: await engine.call('availability'),
    });
    attacks.ready();
  } catch (e) {
    $('run-error').textContent = `the engine did not start: ${e.message}`;
  }
  await inputs.loadManifest();
  const workshop = setupWorkshop($('workshop-steps'), {
    /**
     * Audits a bundled target (for the workshop): loads it unless it is loaded already,
     * then runs the given attacks; resolves to the engine's result.
     * @param {string} name
     * @param {{attacks: string[], defences?: string[], references?: boolean}} plan
     */
    async audit(name, plan) {
      await inputs.loadDemo(name, plan.references !== false);
      progress(`running ${name}`, 0, 1);
      const result = await run.audit(attacks.config({ attacks: plan.attacks, defences: plan.defences || [] }));
      progress(`${name} done`, 1, 1);
      return result;
    },
    manifest: () => store.get().manifest,
    busy: (/** @type {boolean} */ on) => store.update({ busy: on }),
  });
  setupPresenter(workshop, $('workshop-steps'));
  document.body.dataset.ready = 'yes';
  performance.mark('page-ready');
  setupOffline();
}

main();
