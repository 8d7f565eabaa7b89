// Just enough of NumPy's .npy format for the page: read a uint8/float32 array's shape and
// values (image thumbnails), and write float32 features and int64/bool vectors (uploaded
// images handed to the engine, which reads .npy).

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];

/**
 * @param {Uint8Array} bytes
 * @returns {{shape: number[], values: Uint8Array | Float32Array, scale: number}}
 */
export function readNpy(bytes) {
  if (!MAGIC.every((b, i) => bytes[i] === b)) throw new Error('not a .npy file');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder().decode(bytes.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '';
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error('Fortran-ordered .npy is not supported');
  const offset = start + headerLength;
  const count = shape.reduce((a, b) => a * b, 1);
  if (descr === '|u1') return { shape, values: bytes.subarray(offset, offset + count), scale: 1 / 255 };
  if (descr === '<f4') {
    const copy = bytes.slice(offset, offset + 4 * count);
    return { shape, values: new Float32Array(copy.buffer), scale: 1 };
  }
  throw new Error(`unsupported .npy dtype ${descr}`);
}

/**
 * @param {string} descr
 * @param {number[]} shape
 * @param {Uint8Array} data
 */
function writeNpy(descr, shape, data) {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(data, 10 + header.length);
  return out;
}

/** @param {Float32Array} values @param {number[]} shape */
export function float32Npy(values, shape) {
  return writeNpy('<f4', shape, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

/** @param {number[]} values */
export function int64Npy(values) {
  const data = new BigInt64Array(values.map((v) => BigInt(v)));
  return writeNpy('<i8', [values.length], new Uint8Array(data.buffer));
}

/** @param {boolean[]} values */
export function boolNpy(values) {
  return writeNpy('|b1', [values.length], Uint8Array.from(values, (v) => (v ? 1 : 0)));
}

/** @param {Uint8Array} values @param {number[]} shape */
export function uint8Npy(values, shape) {
  return writeNpy('|u1', shape, values);
}

/** Reads a 1-D int64 or bool .npy vector as numbers (0/1 for bool). @param {Uint8Array} bytes */
export function readVector(bytes) {
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLength;
  const header = new TextDecoder().decode(bytes.subarray(0, start));
  if (header.includes("'<i8'")) {
    return Array.from(new BigInt64Array(bytes.slice(start).buffer), Number);
  }
  if (header.includes("'|b1'")) return Array.from(bytes.subarray(start));
  throw new Error('expected an int64 or bool vector');
}
