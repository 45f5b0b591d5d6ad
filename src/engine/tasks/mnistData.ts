/**
 * MNIST digits in the app's compact binary format (`public/data/mnist.bin`), and its reader.
 *
 * Pure TypeScript: no DOM, no Node APIs, so it runs in the worker, in Node and in tests. The file
 * is written at build time by `scripts/generate-data.ts` (`npm run data`), which documents the
 * format in full; the offsets are the constants below. All integers are little-endian.
 *
 *     offset  size        field
 *     0       4           magic, ASCII "MNST"
 *     4       4  u32      version (1)
 *     8       4  u32      count N
 *     12      4  u32      rows (28)
 *     16      4  u32      cols (28)
 *     20      4  u32      source hash: FNV-1a 32 of the package's source files (for idempotence)
 *     24      4  u32      payload hash: FNV-1a 32 of every byte from offset 32 to the end
 *     28      4  u32      reserved, 0
 *     32      N  u8       labels, 0..9
 *     32+N    N  u8       split flag: 1 = test sample, 0 = training sample
 *     32+2N   N·rows·cols pixels, u8 0..255, sample-major then row-major
 */

/** The four magic bytes at the start of the file ("MNST"). */
export const MNIST_MAGIC = 'MNST';
/** The format version this code reads and writes. */
export const MNIST_VERSION = 1;
/** Size of the fixed header in bytes. */
export const MNIST_HEADER_BYTES = 32;

/** Byte offsets of the header fields. */
const OFFSET = {
  version: 4,
  count: 8,
  rows: 12,
  cols: 16,
  sourceHash: 20,
  payloadHash: 24,
  reserved: 28,
} as const;

/** Number of digit classes (labels are 0 … 9). */
export const MNIST_CLASSES = 10;

/** A parsed MNIST file. The arrays are views into the buffer that was parsed (no copy). */
export interface MnistData {
  /** Number of samples. */
  count: number;
  /** Image height in pixels. */
  rows: number;
  /** Image width in pixels. */
  cols: number;
  /** Class of each sample, 0..9; length `count`. */
  labels: Uint8Array;
  /** Gray levels 0..255, sample i at `[i·rows·cols, (i+1)·rows·cols)`, row-major. */
  pixels: Uint8Array;
  /** 1 if sample i belongs to the test split, 0 if to the training split; length `count`. */
  isTest: Uint8Array;
  /** FNV-1a 32 of the source files the data was generated from (see the generator). */
  sourceHash: number;
}

/** The file is not a valid MNIST binary (wrong magic, version, size, values or checksum). */
export class MnistFormatError extends Error {
  constructor(message: string) {
    super(`Invalid MNIST data file: ${message}`);
    this.name = 'MnistFormatError';
  }
}

/** FNV-1a 32 offset basis: the hash of no bytes, and the seed of a new hash. */
export const FNV1A32_OFFSET = 0x811c9dc5;

/** FNV-1a 32-bit hash of `bytes`, continuing from `seed` so that chunks can be hashed in turn. */
export function fnv1a32(bytes: Uint8Array, seed = FNV1A32_OFFSET): number {
  let h = seed >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  }
  return h;
}

/** Total file size in bytes for `count` images of `rows`×`cols`. */
export function mnistFileSize(count: number, rows: number, cols: number): number {
  return MNIST_HEADER_BYTES + count * (2 + rows * cols);
}

/** Throws a MnistFormatError with `message` unless `ok`. */
function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new MnistFormatError(message);
}

/** Reads the magic bytes as text, for the error message. */
function readMagic(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes.subarray(0, 4));
}

/** Checks the magic bytes and version; returns the header's count, rows, cols and hashes. */
function parseHeader(view: DataView, bytes: Uint8Array) {
  check(
    bytes.length >= MNIST_HEADER_BYTES,
    `file is ${bytes.length} bytes, shorter than the ${MNIST_HEADER_BYTES}-byte header ` +
      '(missing or truncated: run `npm run data`)',
  );
  const magic = readMagic(bytes);
  check(
    magic === MNIST_MAGIC,
    `bad magic bytes ${JSON.stringify(magic)} (expected "${MNIST_MAGIC}"); not an MNIST data ` +
      'file — if it came from a dev server, the file may be missing: run `npm run data`',
  );
  const version = view.getUint32(OFFSET.version, true);
  check(
    version === MNIST_VERSION,
    `unsupported version ${version} (this build reads version ${MNIST_VERSION}): ` +
      'regenerate it with `npm run data -- --force`',
  );
  return {
    count: view.getUint32(OFFSET.count, true),
    rows: view.getUint32(OFFSET.rows, true),
    cols: view.getUint32(OFFSET.cols, true),
    sourceHash: view.getUint32(OFFSET.sourceHash, true),
    payloadHash: view.getUint32(OFFSET.payloadHash, true),
  };
}

/** Checks that every label is a digit class and every split flag is 0 or 1. */
function checkValues(labels: Uint8Array, isTest: Uint8Array): void {
  for (let i = 0; i < labels.length; i++) {
    check(labels[i] < MNIST_CLASSES, `label of sample ${i} is ${labels[i]} (expected 0..9)`);
    check(isTest[i] <= 1, `split flag of sample ${i} is ${isTest[i]} (expected 0 or 1)`);
  }
}

/**
 * Parses and validates an MNIST binary (magic, version, dimensions, exact size, payload checksum,
 * label and flag ranges). Throws MnistFormatError with a message saying what is wrong.
 */
export function parseMnistBinary(buf: ArrayBuffer): MnistData {
  const bytes = new Uint8Array(buf);
  const view = new DataView(buf);
  const h = parseHeader(view, bytes);
  check(h.count > 0, 'count is 0');
  check(h.rows > 0 && h.cols > 0, `image size is ${h.rows}×${h.cols}`);
  const expected = mnistFileSize(h.count, h.rows, h.cols);
  check(
    bytes.length === expected,
    `file is ${bytes.length} bytes but its header (${h.count} images of ${h.rows}×${h.cols}) ` +
      `needs ${expected} (truncated or corrupted: run \`npm run data -- --force\`)`,
  );
  const payload = bytes.subarray(MNIST_HEADER_BYTES);
  check(
    fnv1a32(payload) === h.payloadHash,
    'payload checksum mismatch (corrupted: run `npm run data -- --force`)',
  );
  const labels = payload.subarray(0, h.count);
  const isTest = payload.subarray(h.count, 2 * h.count);
  const pixels = payload.subarray(2 * h.count);
  checkValues(labels, isTest);
  return {
    count: h.count,
    rows: h.rows,
    cols: h.cols,
    labels,
    pixels,
    isTest,
    sourceHash: h.sourceHash,
  };
}

/** Throws unless the content's arrays have the lengths its count and image size imply. */
function checkContent(data: MnistData): void {
  const { count, rows, cols } = data;
  if (data.labels.length !== count || data.isTest.length !== count) {
    throw new RangeError(`labels and isTest must have length count = ${count}`);
  }
  if (data.pixels.length !== count * rows * cols) {
    throw new RangeError(`pixels must have length count·rows·cols = ${count * rows * cols}`);
  }
}

/** Encodes data into the binary format parsed by parseMnistBinary (used by the generator). */
export function encodeMnistBinary(data: MnistData): Uint8Array {
  checkContent(data);
  const { count, rows, cols } = data;
  const out = new Uint8Array(mnistFileSize(count, rows, cols));
  const view = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) out[i] = MNIST_MAGIC.charCodeAt(i);
  view.setUint32(OFFSET.version, MNIST_VERSION, true);
  view.setUint32(OFFSET.count, count, true);
  view.setUint32(OFFSET.rows, rows, true);
  view.setUint32(OFFSET.cols, cols, true);
  view.setUint32(OFFSET.sourceHash, data.sourceHash >>> 0, true);
  view.setUint32(OFFSET.reserved, 0, true);
  out.set(data.labels, MNIST_HEADER_BYTES);
  out.set(data.isTest, MNIST_HEADER_BYTES + count);
  out.set(data.pixels, MNIST_HEADER_BYTES + 2 * count);
  view.setUint32(OFFSET.payloadHash, fnv1a32(out.subarray(MNIST_HEADER_BYTES)), true);
  return out;
}

/** Indices of the samples whose split flag equals `flag`, in file order. */
function indicesWithFlag(data: MnistData, flag: 0 | 1): Uint32Array {
  let n = 0;
  for (let i = 0; i < data.count; i++) if (data.isTest[i] === flag) n++;
  const out = new Uint32Array(n);
  let k = 0;
  for (let i = 0; i < data.count; i++) if (data.isTest[i] === flag) out[k++] = i;
  return out;
}

/** Indices of the training samples, in file order (class 0 first). */
export function trainIndices(data: MnistData): Uint32Array {
  return indicesWithFlag(data, 0);
}

/** Indices of the test samples, in file order (class 0 first). */
export function testIndices(data: MnistData): Uint32Array {
  return indicesWithFlag(data, 1);
}

/**
 * Image i as floats in [0, 1] (gray level / 255), row-major, length rows·cols. Writes into `out`
 * when given (it must have that length) and returns it; otherwise allocates.
 */
export function imageAsFloat(data: MnistData, i: number, out?: Float32Array): Float32Array {
  if (!Number.isInteger(i) || i < 0 || i >= data.count) {
    throw new RangeError(`sample index ${i} is out of range 0..${data.count - 1}`);
  }
  const size = data.rows * data.cols;
  const target = out ?? new Float32Array(size);
  if (target.length !== size) {
    throw new RangeError(`output has length ${target.length}, expected ${size}`);
  }
  const start = i * size;
  for (let p = 0; p < size; p++) target[p] = data.pixels[start + p] / 255;
  return target;
}
