// The server `npm start` runs: the built site (dist/) as any careful static host should serve
// it (docs/web.md, "Hosting"): the precompressed copy (brotli, else gzip) where the browser
// accepts it, with Content-Encoding and Vary; hashed assets cached for a year as immutable;
// the page, the service worker and the zoo revalidated on every load.
// Usage: node scripts/serve.mjs [--port 8080] [--dir dist] [--plain] [--log-bytes]
// (--plain ignores the precompressed copies: how `vite preview` served the site, for the
// page-load benchmark's comparison; --log-bytes prints one line per response with the bytes
// it sent, which the benchmark sums.)
import { createServer } from 'node:http';
import sirv from 'sirv';
import { IMMUTABLE } from './site.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};
const port = Number(option('port', '8080'));
const dir = option('dir', new URL('../dist', import.meta.url).pathname);

const plain = args.includes('--plain');
const files = sirv(dir, {
  brotli: !plain,
  gzip: !plain,
  etag: true,
  setHeaders(res, pathname) {
    const path = pathname.replace(/^\//, '');
    res.setHeader('Cache-Control', IMMUTABLE.test(path) ? 'public, max-age=31536000, immutable' : 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
  },
});

const logBytes = args.includes('--log-bytes');

/** Counts the body bytes a response sends and prints them when it is done. */
function logged(req, res) {
  let bytes = 0;
  const [write, end] = [res.write.bind(res), res.end.bind(res)];
  res.write = (chunk, ...rest) => {
    bytes += chunk ? Buffer.byteLength(chunk) : 0;
    return write(chunk, ...rest);
  };
  res.end = (chunk, ...rest) => {
    bytes += chunk && typeof chunk !== 'function' ? Buffer.byteLength(chunk) : 0;
    return end(chunk, ...rest);
  };
  res.on('finish', () => console.log(JSON.stringify({ served: req.url, bytes })));
}

createServer((req, res) => {
  if (logBytes) logged(req, res);
  files(req, res, () => {
    res.statusCode = 404;
    res.end('not found');
  });
}).listen(port, () => console.log(`serving ${dir} at http://localhost:${port}/`));
