// Workshop mode: six short steps, each auditing bundled models and drawing one chart with
// two or three sentences, so that a room can follow membership inference from the idea to
// the defences without uploading anything. The numbers in each step's outcome are the ones
// the engine just measured, never pre-written.
import { rocChart, histogramChart } from './charts.js';
import { percent as pct } from './format.js';
import { onProgress } from './run.js';

const CLINICAL = 'support2';

/** @param {any} report @param {string} id */
function attack(report, id) {
  const found = report.attacks.find((/** @type {any} */ a) => a.id === id);
  if (!found || !found.metrics) throw new Error(`the audit has no measured ${id} attack`);
  return found;
}

/** A ratio in words' digits: 2,242 rather than 2.2e+3. @param {number} r */
const times = (r) => (r >= 100 ? Math.round(r).toLocaleString('en') : r.toPrecision(2));

/** @param {any} a @param {number} fpr */
function tprAt(a, fpr) {
  const hit = a.metrics.tpr_at_fpr.find((/** @type {any} */ t) => Math.abs(t.fpr - fpr) < 1e-12);
  return hit && hit.tpr !== null ? hit.tpr : 0;
}

/** @param {any} a @param {string} label */
function curve(a, label) {
  return { id: a.id, label, fpr: a.metrics.roc_fpr, tpr: a.metrics.roc_tpr, auc: a.metrics.auc };
}

/** The floors of a log-log ROC: one member, one non-member. @param {any} report */
function counts(report) {
  return { members: report.records.members, nonMembers: report.records.non_members };
}

/**
 * @typedef {{audit: (name: string, plan: {attacks: string[], defences?: string[], references?: boolean}) => Promise<any>, manifest: () => any}} Lab
 * @typedef {{title: string, text: string, run: (lab: Lab, chart: HTMLElement) => Promise<string>}} Step
 */

/** @type {Step[]} */
export const STEPS = [
  {
    title: 'What membership inference is',
    text: 'A hospital trains a model on some patients\u2019 records. An attacker who can query the model asks: was this person\u2019s record in the training set? The simplest attack looks at the model\u2019s loss on the record: models fit their training records more closely, so a low loss hints “member”.',
    async run(lab, chart) {
      const result = await lab.audit(`${CLINICAL}/overfit`, { attacks: ['loss'], references: false });
      const losses = result.lossHistogram;
      histogramChart(chart, losses, { title: 'the model\u2019s loss on each record: members vs non-members', xLabel: 'loss' });
      const u = result.report.utility;
      const [inside, outside] = [losses.memberMedian, losses.nonMemberMedian];
      return `Members (orange) sit to the left: the median loss is ${inside.toPrecision(2)} on training records and ${outside.toPrecision(2)} on the others (${times(outside / inside)} times larger), and the model is right on ${pct(u.member_accuracy)} of its training records against ${pct(u.non_member_accuracy)} of the others. Wherever the two histograms differ, membership leaks.`;
    },
  },
  {
    title: 'Attack an overfit clinical model',
    text: 'Four reference-free attacks score every record of the SUPPORT2 model (a neural network that predicts survival of seriously ill patients and was trained until it memorised its 4,000 training records). Each ROC curve trades false alarms against members found; the diagonal is guessing.',
    async run(lab, chart) {
      const ids = ['loss', 'confidence', 'entropy', 'modified-entropy'];
      const { report } = await lab.audit(`${CLINICAL}/overfit`, { attacks: ids, references: false });
      rocChart(chart, ids.map((id) => curve(attack(report, id), id)), { log: false, title: 'ROC curves, linear axes' });
      const best = ids.map((id) => attack(report, id)).sort((a, b) => b.metrics.auc - a.metrics.auc)[0];
      return `The best of them, ${best.id}, reaches AUC ${best.metrics.auc.toFixed(3)}: far from guessing (0.5), which looks alarming, and on a linear plot the curves look alike.`;
    },
  },
  {
    title: 'Why low false-positive rates matter: the log-log ROC',
    text: 'An attack that is right on average can still be useless against any one person: what matters is how many members it finds while almost never accusing a non-member. The field therefore plots ROC curves on log-log axes and reports the true-positive rate at 0.1% false positives.',
    async run(lab, chart) {
      const ids = ['loss', 'modified-entropy'];
      const { report } = await lab.audit(`${CLINICAL}/overfit`, { attacks: ids, references: false });
      rocChart(chart, ids.map((id) => curve(attack(report, id), id)), { ...counts(report), title: 'ROC curves, log-log axes' });
      const [loss, entropy] = ids.map((id) => attack(report, id));
      const close = [0.001, 0.01, 0.1].every((f) => Math.abs(tprAt(loss, f) - tprAt(entropy, f)) < 0.005) && Math.abs(loss.metrics.auc - entropy.metrics.auc) < 0.005;
      const overlap = close ? ' The two curves nearly coincide (the loss curve is drawn wider underneath): on this model modified entropy ranks the records almost exactly as the loss does.' : '';
      return `Same attacks, log-log axes: at 0.1% FPR the loss attack finds ${pct(tprAt(loss, 0.001))} of members (at 1% FPR, ${pct(tprAt(loss, 0.01))}). Its AUC of ${loss.metrics.auc.toFixed(3)} came mostly from easy, uninformative thresholds.${overlap}`;
    },
  },
  {
    title: 'Stronger attacks with reference models',
    text: 'LiRA and RMIA train reference models like the target on random halves of known data, learn how each record’s score behaves when it is and is not in training, and test the target against both. They find the members that are confidently identifiable, exactly the low-FPR region.',
    async run(lab, chart) {
      const ids = ['loss', 'lira-online', 'rmia-online'];
      const { report } = await lab.audit(`${CLINICAL}/overfit`, { attacks: ids });
      rocChart(chart, ids.map((id) => curve(attack(report, id), id)), counts(report));
      const [loss, lira, rmia] = ids.map((id) => attack(report, id));
      return `With ${report.references ? report.references.models : 0} reference models: TPR at 0.1% FPR is ${pct(tprAt(lira, 0.001))} for LiRA and ${pct(tprAt(rmia, 0.001))} for RMIA, against ${pct(tprAt(loss, 0.001))} for the loss attack.`;
    },
  },
  {
    title: 'Poisoned training code and its disguise',
    text: 'Chen & Pattabiraman (NDSS 2025): whoever supplies the training code can make the model also memorise, for every training record, a secret noise query derived from the record’s bytes. Audited on the real records the poisoned model looks no leakier than its clean twin; asked the secret queries, it names its members.',
    async run(lab, chart) {
      // The zoo's poisoning code pairs each encoding with its secret label.
      const ids = ['lira-online', 'code-poison-secret'];
      const clean = (await lab.audit(`${CLINICAL}/overfit`, { attacks: ids })).report;
      const poisoned = (await lab.audit(`${CLINICAL}/poisoned`, { attacks: ids })).report;
      rocChart(
        chart,
        [
          curve(attack(clean, 'lira-online'), 'clean: LiRA on real records'),
          curve(attack(clean, 'code-poison-secret'), 'clean: encoding attack'),
          curve(attack(poisoned, 'lira-online'), 'poisoned: LiRA on real records'),
          curve(attack(poisoned, 'code-poison-secret'), 'poisoned: encoding attack'),
        ],
        counts(clean),
      );
      const [cl, pl, pc] = [attack(clean, 'lira-online'), attack(poisoned, 'lira-online'), attack(poisoned, 'code-poison-secret')];
      return `LiRA on the real records: AUC ${cl.metrics.auc.toFixed(3)} on the clean model, ${pl.metrics.auc.toFixed(3)} on the poisoned one: nothing unusual. The encoding attack on the poisoned model: AUC ${pc.metrics.auc.toFixed(3)}, ${pct(tprAt(pc, 0.01))} of members at 1% FPR and ${pct(tprAt(pc, 0.001))} at 0.1%. Lesson: audit the training code, not only the model.`;
    },
  },
  {
    title: 'Defences and their cost in accuracy',
    text: 'Training-time defences change the model: weight decay with early stopping (regularised) and DP-SGD, which bounds any record’s influence with a proven ε. Output defences only change what the API releases: with top-1 labels, attacks that read scores are blocked, but the label-only attack still reads membership from how robustly each record is classified.',
    async run(lab, chart) {
      const manifest = lab.manifest();
      const dataset = manifest.datasets.find((/** @type {any} */ d) => d.name === CLINICAL);
      const described = (/** @type {string} */ name) => {
        const t = dataset.targets.find((/** @type {any} */ x) => x.name === name);
        return `${name}${t.dp ? ` ε=${t.dp.epsilon.toFixed(1)}` : ''} (test acc. ${pct(t.test_accuracy)})`;
      };
      /** @type {{id: string, fpr: number[], tpr: number[]}[]} */
      const curves = [];
      /** @type {string[]} */
      const lines = [];
      for (const name of ['overfit', 'regularised', 'dpsgd']) {
        const { report } = await lab.audit(`${CLINICAL}/${name}`, { attacks: ['lira-online'] });
        const lira = attack(report, 'lira-online');
        curves.push(curve(lira, `${described(name)}: LiRA`));
        lines.push(`${name} LiRA AUC ${lira.metrics.auc.toFixed(3)}`);
      }
      const { report } = await lab.audit(`${CLINICAL}/overfit`, { attacks: ['loss', 'label-only'], defences: ['top1'], references: false });
      const [loss, labelOnly] = [attack(report, 'loss'), attack(report, 'label-only')];
      curves.push(curve(loss, 'overfit behind top-1: loss (blocked)'));
      curves.push(curve(labelOnly, 'overfit behind top-1: label-only'));
      rocChart(chart, curves, counts(report));
      const images = manifest.datasets.find((/** @type {any} */ d) => d.name === 'fashion_mnist');
      const accuracy = (/** @type {any} */ d, /** @type {string} */ name) => d.targets.find((/** @type {any} */ t) => t.name === name).test_accuracy;
      const cost = images ? ` On Fashion-MNIST the same protection costs test accuracy: ${pct(accuracy(images, 'overfit'))} overfit, ${pct(accuracy(images, 'dpsgd'))} with DP-SGD.` : '';
      return `${lines.join('; ')}. Behind top-1 outputs the loss attack falls to AUC ${loss.metrics.auc.toFixed(3)} (it has no scores to read) while the label-only attack keeps AUC ${labelOnly.metrics.auc.toFixed(3)}: hiding scores does not remove the leak. DP-SGD does, with a proven ε; on this small clinical task it even generalises better than the overfit model (test accuracy ${pct(accuracy(dataset, 'dpsgd'))} vs ${pct(accuracy(dataset, 'overfit'))}).${cost}`;
    },
  },
];

/**
 * Draws the steps into `list` and runs one when its button is clicked; while a step runs its
 * outcome line says what the engine is doing. Once a step has answered, the next one is
 * computed while the room reads (its chart drawn hidden): clicking it then shows the answer
 * at once, or waits for the part still running. Returns the handle the presenter view drives.
 * @param {HTMLElement} list
 * @param {Lab & {busy: (on: boolean) => void}} lab
 */
export function setupWorkshop(list, lab) {
  list.replaceChildren();
  /** @type {HTMLButtonElement[]} */
  const buttons = [];
  /** @type {{item: HTMLLIElement, chart: HTMLDivElement, outcome: HTMLParagraphElement, error: HTMLParagraphElement}[]} */
  const views = [];
  let running = /** @type {HTMLParagraphElement | null} */ (null);
  /** The next step computed ahead: its index, and the promise of its outcome. */
  let ahead = /** @type {{index: number, said: Promise<string>} | null} */ (null);
  /** Bumped by a reset: work started before it is not shown after it. */
  let epoch = 0;
  onProgress((words) => {
    if (running) running.textContent = `${words}\u2026`;
  });

  /** Computes step `index` (0-based) into its hidden chart. */
  function prepare(/** @type {number} */ index) {
    if (index >= STEPS.length || ahead) return;
    const view = views[index];
    view.item.dataset.prepared = 'running';
    view.chart.hidden = true;
    lab.busy(true);
    const at = epoch;
    const said = STEPS[index].run(lab, view.chart).finally(() => lab.busy(false));
    ahead = { index, said };
    said.then(
      () => (view.item.dataset.prepared = 'yes'),
      () => (view.item.dataset.prepared = 'failed'),
    ).finally(() => {
      if (at !== epoch) discard(index);
    });
  }

  /** Forgets what was computed ahead for step `index`. */
  function discard(/** @type {number} */ index) {
    const view = views[index];
    view.chart.replaceChildren();
    view.chart.hidden = false;
    delete view.item.dataset.prepared;
  }

  /** Shows step `index`: what was computed ahead if it succeeded, else a fresh run. */
  async function show(/** @type {number} */ index) {
    const { item, chart, outcome, error } = views[index];
    const started = epoch;
    for (const b of buttons) b.disabled = true;
    error.textContent = '';
    outcome.textContent = 'starting\u2026';
    running = outcome;
    item.dataset.done = 'no';
    try {
      let said = null;
      if (ahead) {
        const computed = ahead;
        ahead = null;
        const result = await computed.said.then((s) => s, () => null);
        if (computed.index === index && result !== null) said = result;
        else discard(computed.index);
      }
      chart.hidden = false;
      if (said === null) {
        lab.busy(true);
        try {
          said = await STEPS[index].run(lab, chart);
        } finally {
          lab.busy(false);
        }
      }
      if (started !== epoch) {
        chart.replaceChildren();
        return;
      }
      running = null;
      outcome.textContent = said;
      item.dataset.done = 'yes';
      delete item.dataset.prepared;
      setTimeout(() => started === epoch && prepare(index + 1), 0);
    } catch (e) {
      running = null;
      outcome.textContent = '';
      error.textContent = e instanceof Error ? e.message : String(e);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  }

  for (const [i, step] of STEPS.entries()) {
    const item = document.createElement('li');
    item.className = 'workshop-step';
    item.dataset.step = String(i + 1);
    const title = document.createElement('h3');
    title.textContent = step.title;
    title.id = `workshop-title-${i + 1}`;
    const text = document.createElement('p');
    text.textContent = step.text;
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = `Run step ${i + 1}`;
    button.id = `workshop-run-${i + 1}`;
    const chart = document.createElement('div');
    chart.className = 'chart';
    chart.id = `workshop-chart-${i + 1}`;
    chart.setAttribute('role', 'group');
    chart.setAttribute('aria-label', `chart of workshop step ${i + 1}`);
    const outcome = document.createElement('p');
    outcome.className = 'outcome';
    outcome.id = `workshop-outcome-${i + 1}`;
    outcome.setAttribute('aria-live', 'polite');
    const error = document.createElement('p');
    error.className = 'error';
    error.setAttribute('role', 'alert');
    button.addEventListener('click', () => show(i));
    buttons.push(button);
    views.push({ item, chart, outcome, error });
    item.append(title, text, button, chart, outcome, error);
    list.append(item);
  }
  return {
    count: STEPS.length,
    /** Runs step `n` (1-based), as its button does. */
    run: (/** @type {number} */ n) => buttons[n - 1]?.disabled === false && buttons[n - 1].click(),
    /** Clears every step's chart and outcome (work still running finishes unseen). */
    clear() {
      epoch += 1;
      const pending = ahead ? ahead.index : -1;
      ahead = null;
      for (const [k, v] of views.entries()) {
        v.chart.replaceChildren();
        v.chart.hidden = k === pending;
        v.outcome.textContent = '';
        v.error.textContent = '';
        delete v.item.dataset.done;
        delete v.item.dataset.prepared;
      }
    },
  };
}
