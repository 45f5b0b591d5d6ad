import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { InputError, oneLine } from '../engine/errors';

/** Largest scenario file `solve` reads: ≈ 13M numbers, a recurrent net of ≈ 3600 units. */
export const SCENARIO_FILE_LIMIT = 256 * 2 ** 20;
/** Largest config file `train` reads (a config is a few dozen fields). */
export const CONFIG_FILE_LIMIT = 16 * 2 ** 20;

/** A file as messages name it: its base name only (never an absolute path), on one line. */
export function fileLabel(path: string): string {
  return oneLine(basename(path) || path, 60);
}

function mebibytes(bytes: number): string {
  return `${Number((bytes / 2 ** 20).toPrecision(3))} MiB`;
}

/**
 * Read and parse a JSON file of at most `limit` bytes; unreadable, oversized, non-regular or
 * malformed files are input errors naming the file. A leading byte-order mark is allowed.
 */
export async function readJsonFile(path: string, limit: number): Promise<unknown> {
  const label = fileLabel(path);
  let text: string;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw InputError.single(label, 'is a directory, expected a JSON file');
    if (!info.isFile()) throw InputError.single(label, 'is not a regular file');
    if (info.size > limit)
      throw InputError.single(
        label,
        `is ${mebibytes(info.size)}; at most ${mebibytes(limit)} is read`,
      );
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw InputError.single(label, `cannot read the file (${code})`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw InputError.single(label, 'is empty, expected JSON');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    // V8's message quotes a little of the text; oneLine bounds it when it is printed.
    throw InputError.single(label, `not valid JSON (${(e as Error).message})`);
  }
}

/** A value that is a JSON object (not null, not an array). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
