// The service worker: the page, the engine and the bundled demos from the cache, so that the
// workshop and the demos run offline and reload instantly after the first visit. It installs
// with the page and the engine (the shell); the demo files follow in the background once the
// page says it is idle, so that they never compete with the first load. Everything is cached
// under the site's build hash: a new deployment installs a new cache and deletes the old.
// It fetches the site's own files only, and answers nothing else.
/// <reference lib="webworker" />

/** @type {{version: string, shell: string[], zoo: string[]}} — filled in by the build. */
const PRECACHE = self.__PRECACHE__;
const CACHE = `mialab-${PRECACHE.version}`;
const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

sw.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(PRECACHE.shell))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key.startsWith('mialab-') && key !== CACHE) await caches.delete(key);
      await sw.clients.claim();
    })(),
  );
});

sw.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== sw.location.origin || event.request.method !== 'GET') return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      const hit = await cache.match(event.request, { ignoreSearch: true });
      if (hit) return hit;
      const response = await fetch(event.request);
      if (response.ok && !url.pathname.endsWith('/sw.js')) await cache.put(event.request, response.clone());
      return response;
    })(),
  );
});

/** Tells every page of the site how far offline caching has got. */
async function report(done) {
  const message = { offline: { done, total: PRECACHE.zoo.length, version: PRECACHE.version } };
  for (const client of await sw.clients.matchAll({ includeUncontrolled: true })) client.postMessage(message);
}

/** Caches every demo file not cached yet, one after another. */
async function cacheZoo() {
  const cache = await caches.open(CACHE);
  let done = 0;
  for (const file of PRECACHE.zoo) {
    if (!(await cache.match(file))) {
      const response = await fetch(file);
      if (!response.ok) throw new Error(`${file}: ${response.status}`);
      await cache.put(file, response);
    }
    done += 1;
    if (done % 10 === 0 || done === PRECACHE.zoo.length) await report(done);
  }
}

sw.addEventListener('message', (event) => {
  if (event.data === 'cache-zoo') event.waitUntil(cacheZoo());
});
