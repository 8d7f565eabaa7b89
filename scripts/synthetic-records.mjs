// Writes a large SUPPORT2-shaped audit set as CSV, for the large-input benchmark and the
// page's million-record test: rows drawn (seeded, with replacement) from the bundled SUPPORT2
// audit records, each with a fresh id and its source record's label and membership of
// `support2/overfit`, its measurements jittered by up to ±0.5% (0/1 indicator columns kept) so
// that no two records score alike, written to 4 significant digits as a spreadsheet would.
// Run: node scripts/synthetic-records.mjs --records 1000000 --out /tmp/large.csv [--seed 7]
//      [--population 100000 --population-out /tmp/large-population.csv]
import { createWriteStream, readFileSync } from 'node:fs';
import { once } from 'node:events';
import { readNpy } from '../www/src/npy.js';

const ROOT = new URL('../', import.meta.url).pathname;

/** @param {string} name @param {string} fallback */
function option(name, fallback) {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : fallback;
}

/** mulberry32: a small seeded generator; the rows only need to be reproducible. */
function generator(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function int64s(path) {
  const bytes = readFileSync(path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint16(8, true);
  const offset = 10 + headerLength;
  const header = bytes.subarray(10, offset).toString();
  const wide = header.includes("'<i8'");
  const bool = header.includes("'|b1'");
  const size = wide ? 8 : bool ? 1 : 4;
  const out = [];
  for (let at = offset; at + size <= bytes.length; at += size) {
    out.push(wide ? Number(view.getBigInt64(at, true)) : bool ? bytes[at] : view.getInt32(at, true));
  }
  return out;
}

const source = readNpy(new Uint8Array(readFileSync(`${ROOT}models/support2/audit_features.npy`)));
const [count, width] = source.shape;
const labels = int64s(`${ROOT}models/support2/audit_labels.npy`);
const members = int64s(`${ROOT}models/support2/targets/overfit.members.npy`);
const names = JSON.parse(readFileSync(`${ROOT}models/manifest.json`, 'utf8'))
  .datasets.find((d) => d.name === 'support2').input.feature_names;

/** Record `r` of the source, jittered. */
function cells(r, random) {
  const row = [];
  for (let c = 0; c < width; c += 1) {
    const v = source.values[r * width + c];
    const jittered = v === 0 || v === 1 ? v : v * (1 + 0.01 * (random() - 0.5));
    row.push(Number(jittered.toPrecision(4)).toString());
  }
  return row.join(',');
}

async function write(path, rows, seed, withMember) {
  const random = generator(seed);
  const out = createWriteStream(path);
  out.write(`id,${names.join(',')},label${withMember ? ',member' : ''}\n`);
  let chunk = '';
  for (let i = 0; i < rows; i += 1) {
    const r = Math.floor(random() * count);
    chunk += `r${i},${cells(r, random)},${labels[r]}${withMember ? `,${members[r]}` : ''}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

const seed = Number(option('seed', '7'));
await write(option('out', '/tmp/large.csv'), Number(option('records', '1000000')), seed, true);
const population = Number(option('population', '0'));
if (population > 0) await write(option('population-out', '/tmp/large-population.csv'), population, seed + 1, false);
