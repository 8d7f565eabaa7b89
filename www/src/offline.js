// Offline use: registers the service worker (www/sw.js) in the built site once the first load
// is over, asks it to cache the bundled demos when the visitor first uses one (or after a
// while on the page), and shows how far it got. Until then a visit transfers only the page
// and the engine.

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

/** After the page is ready: when the service worker registers, and when the demos are
 * cached without being asked. */
const REGISTER_AFTER_MS = 3000;
const CACHE_DEMOS_AFTER_MS = 30000;

/** @type {Promise<ServiceWorkerRegistration> | null} */
let registered = null;
let asked = false;

/** Asks the service worker to cache every bundled demo (once per page). */
export function keepDemosOffline() {
  if (!registered || asked) return;
  asked = true;
  registered.then((registration) => registration.active?.postMessage('cache-zoo'));
}

export function setupOffline() {
  const status = $('offline-status');
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
  navigator.serviceWorker.addEventListener('message', (event) => {
    const progress = event.data && event.data.offline;
    if (!progress) return;
    const complete = progress.done === progress.total;
    status.dataset.offline = complete ? 'yes' : 'no';
    status.textContent = complete
      ? 'Available offline: this page, the engine and every bundled demo are cached on this machine.'
      : `Caching the bundled demos for offline use: ${progress.done} of ${progress.total} files.`;
  });
  let ready;
  registered = new Promise((resolve) => {
    ready = resolve;
  });
  setTimeout(() => {
    navigator.serviceWorker
      .register('./sw.js')
      .then(() => navigator.serviceWorker.ready)
      .then(ready)
      .catch((e) => {
        status.textContent = `Offline use unavailable: ${e.message}`;
      });
  }, REGISTER_AFTER_MS);
  setTimeout(keepDemosOffline, CACHE_DEMOS_AFTER_MS);
}
