// Image records for the engine: PNG/JPEG files (or a .zip of them) plus a labels CSV
// (`file,label[,member]`), unpacked and read by the engine in its worker, decoded by the
// browser, resized to the model's [C, H, W] and scaled to [0, 1]; and thumbnails of records
// for the results.
import { float32Npy, int64Npy, boolNpy } from './npy.js';

/**
 * Decodes the images into the engine's .npy inputs for records of shape [C, H, W].
 * @param {import('./engine.js').Engine} engine
 * @param {File[]} files
 * @param {File | null} labelsFile
 * @param {number[]} recordShape
 * @param {string[] | null} classes
 */
export async function imageRecords(engine, files, labelsFile, recordShape, classes) {
  if (recordShape.length !== 3 || ![1, 3].includes(recordShape[0])) {
    throw new Error(`images need a model taking [channels, height, width] with 1 or 3 channels; this model takes ${JSON.stringify(recordShape)}`);
  }
  const [channels, height, width] = recordShape;
  /** @type {{images: {name: string, bytes: Uint8Array}[], labels: Record<string, {label: number, member?: boolean}>}} */
  const { images, labels } = await engine.call('imageEntries', [files, labelsFile, classes]);
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  const features = new Float32Array(images.length * channels * height * width);
  const ys = [];
  const members = [];
  for (const [i, image] of images.entries()) {
    const row = Object.hasOwn(labels, image.name) ? labels[image.name] : undefined;
    if (!row) throw new Error(`${image.name} has no row in labels.csv`);
    let bitmap;
    try {
      bitmap = await createImageBitmap(new Blob([image.bytes.slice()]));
    } catch {
      throw new Error(`${image.name} could not be decoded as an image`);
    }
    context.clearRect(0, 0, width, height);
    context.drawImage(bitmap, 0, 0, width, height);
    const rgba = context.getImageData(0, 0, width, height).data;
    const plane = height * width;
    for (let p = 0; p < plane; p += 1) {
      const [r, g, b] = [rgba[4 * p], rgba[4 * p + 1], rgba[4 * p + 2]];
      if (channels === 1) features[i * plane + p] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
      else for (let c = 0; c < 3; c += 1) features[(i * 3 + c) * plane + p] = [r, g, b][c] / 255;
    }
    ys.push(row.label);
    members.push(row.member);
  }
  const known = members.every((m) => m !== undefined);
  return {
    features: float32Npy(features, [images.length, channels, height, width]),
    labels: int64Npy(ys),
    membership: known ? boolNpy(/** @type {boolean[]} */ (members)) : undefined,
    ids: new TextEncoder().encode(images.map((e) => e.name).join('\n')),
    pixels: { shape: [images.length, channels, height, width], values: features, scale: 1 },
  };
}

/**
 * A canvas showing record `index` of `pixels` ([N, C, H, W]), `zoom` times larger.
 * @param {{shape: number[], values: Uint8Array | Float32Array, scale: number}} pixels
 */
export function thumbnail(pixels, index, zoom = 2) {
  const [, channels, height, width] = pixels.shape;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  canvas.style.width = `${width * zoom}px`;
  canvas.style.imageRendering = 'pixelated';
  const context = canvas.getContext('2d');
  const image = context.createImageData(width, height);
  const plane = width * height;
  for (let p = 0; p < plane; p += 1) {
    for (let c = 0; c < 3; c += 1) {
      const channel = channels === 1 ? 0 : c;
      const v = pixels.values[(index * channels + channel) * plane + p] * pixels.scale;
      image.data[4 * p + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
    }
    image.data[4 * p + 3] = 255;
  }
  context.putImageData(image, 0, 0);
  return canvas;
}
