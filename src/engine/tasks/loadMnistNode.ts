/**
 * Loading the generated MNIST binary from disk in Node (CLI, tests, scripts).
 *
 * Kept apart from `./loadMnist.ts` because it imports node:fs; never import it from browser or
 * worker code.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseMnistBinary, type MnistData } from './mnistData';

/** Where `npm run data` writes the file, relative to the project root. */
export const DEFAULT_MNIST_PATH = 'public/data/mnist.bin';

/** True if `err` is a Node system error with code ENOENT (file not found). */
function isNotFound(err: unknown): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * Reads and parses the MNIST binary at `path` (default: public/data/mnist.bin resolved from
 * process.cwd()). A missing file gives an Error telling the user to run `npm run data`.
 */
export async function loadMnistNode(path?: string): Promise<MnistData> {
  const file = resolve(process.cwd(), path ?? DEFAULT_MNIST_PATH);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if (isNotFound(err)) {
      throw new Error(`MNIST data not found at ${file}: run \`npm run data\` to generate it`, {
        cause: err,
      });
    }
    throw err;
  }
  // Copy into a fresh ArrayBuffer: a Buffer may be a slice of a larger shared pool.
  const buf = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(buf).set(bytes);
  return parseMnistBinary(buf);
}
