import { readFile } from 'node:fs/promises';
import { InputError } from '../engine/errors';

/** Read and parse a JSON file; unreadable or malformed files are input errors naming the file. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw InputError.single(path, `cannot read the file (${code})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw InputError.single(path, `not valid JSON (${(e as Error).message})`);
  }
}
