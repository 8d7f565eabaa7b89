// Serves the browser inference benchmark's page (this folder), mialab's wasm bundle
// (www/pkg), onnxruntime-web's files and the zoo, cross-origin isolated (without which
// onnxruntime-web cannot start its threads). Used by scripts/bench-browser.mjs and by
// tests/browser/peer.test.mjs.
import { createServer } from 'node:http';
import sirv from 'sirv';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Starts the server on a free port; resolves to {url, stop}. */
export async function startBenchServer() {
  const mounts = [
    ['/pkg/', sirv(`${ROOT}www/pkg`, { dev: true })],
    ['/ort/', sirv(`${ROOT}node_modules/onnxruntime-web/dist`, { dev: true })],
    ['/models/', sirv(`${ROOT}models`, { dev: true })],
    ['/npy.js', sirv(`${ROOT}www/src`, { dev: true })],
    ['/', sirv(`${ROOT}scripts/bench-browser`, { dev: true })],
  ];
  const server = createServer((req, res) => {
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    const [prefix, files] = mounts.find(([p]) => req.url.startsWith(p));
    if (prefix.endsWith('/') && prefix !== '/') req.url = req.url.slice(prefix.length - 1);
    files(req, res, () => {
      res.statusCode = 404;
      res.end('not found');
    });
  });
  await new Promise((resolve) => server.listen(0, resolve));
  return { url: `http://localhost:${server.address().port}/`, stop: () => server.close() };
}
