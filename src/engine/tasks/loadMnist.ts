/**
 * Loading the generated MNIST binary over HTTP (browser main thread or Web Worker).
 *
 * Uses only `fetch`, so it is safe in the browser bundle. The Node loader, which reads the file
 * with node:fs, lives in its own module (`./loadMnistNode.ts`) so that the browser bundle never
 * imports node:fs; import it only from Node code (CLI, tests, scripts).
 */
import { parseMnistBinary, type MnistData } from './mnistData';

/**
 * Fetches and parses the MNIST binary at `url` (e.g. `${import.meta.env.BASE_URL}data/mnist.bin`,
 * resolved against the page, not the worker script). Throws a clear Error on an HTTP error and a
 * MnistFormatError if the response is not a valid file (a dev server may answer a missing file
 * with index.html).
 */
export async function loadMnistUrl(url: string | URL): Promise<MnistData> {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(
      `Could not load MNIST data from ${String(url)}: HTTP ${response.status} ` +
        `${response.statusText} (the file is generated at build time: run \`npm run data\`)`,
    );
  }
  return parseMnistBinary(await response.arrayBuffer());
}
