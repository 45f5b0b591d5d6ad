import { z } from 'zod';
import { InputError, MAX_REPORTED, oneLine, type Issue } from './errors';

/** `model.W[2][3]` from a zod path. */
export function fieldName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(root)';
}

/** Unknown keys listed by name before the rest are only counted. */
const MAX_KEYS_LISTED = 5;

/**
 * A custom issue that stands for `omitted` further problems of the same array (numericArray):
 * inputErrorFromZod counts them instead of listing the issue.
 */
export const OMITTED_PARAM = 'omitted';

function omittedBy(issue: z.core.$ZodIssue): number {
  if (issue.code !== 'custom') return 0;
  const n: unknown = issue.params?.[OMITTED_PARAM];
  return typeof n === 'number' ? n : 0;
}

/** Every zod issue (at most MAX_REPORTED, the rest counted) as a named field and what was expected. */
export function inputErrorFromZod(error: z.ZodError): InputError {
  let omitted = 0;
  const listed: z.core.$ZodIssue[] = [];
  for (const issue of error.issues) {
    const more = omittedBy(issue);
    if (more > 0) omitted += more;
    else if (listed.length < MAX_REPORTED) listed.push(issue);
    else omitted++;
  }
  const issues: Issue[] = listed.map((issue) => {
    const base = issue.path.length ? fieldName(issue.path) : '(root)';
    let message = issue.message;
    if (issue.code === 'invalid_type' && /received undefined/.test(message)) {
      message = `missing (expected ${issue.expected})`;
    } else if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.slice(0, MAX_KEYS_LISTED).map((k) => oneLine(k, 40));
      const rest = issue.keys.length - keys.length;
      return {
        field:
          keys.map((k) => (issue.path.length ? `${base}.${k}` : k)).join(', ') +
          (rest > 0 ? ` and ${rest} more` : ''),
        message: issue.keys.length === 1 ? 'unknown field' : 'unknown fields',
      };
    }
    return { field: base, message };
  });
  return new InputError(issues, omitted);
}

/** What a JSON value is, for "expected …, got …" messages (never the value itself). */
export function jsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number') return Number.isFinite(v) ? 'a number' : String(v);
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'boolean') return 'a boolean';
  if (typeof v === 'object') return 'an object';
  return typeof v;
}

/** What one entry of a numeric array must satisfy beyond being a finite number (null = fine). */
export type EntryCheck = (v: number) => string | null;

/**
 * Entry-wise validation of a JSON array of numbers (depth 1) or of rows of numbers (depth 2)
 * that reports at most MAX_REPORTED bad entries and then one count of the rest: zod's own
 * z.array(z.number()) would build one issue object per bad entry, and 10⁶ bad entries made a
 * 60 MB error line and 1.3 GB of memory. A wrong type or shape aborts the enclosing object's
 * refinements (they may assume arrays); a failed `check` does not.
 */
export function numericArray(depth: 1, check?: EntryCheck): z.ZodType<number[]>;
export function numericArray(depth: 2, check?: EntryCheck): z.ZodType<number[][]>;
export function numericArray(depth: 1 | 2, check?: EntryCheck): z.ZodType<number[] | number[][]> {
  return z.custom<number[] | number[][]>().superRefine((value, ctx) => {
    let reported = 0;
    let unreported = 0;
    const report = (path: number[], message: string, structural: boolean) => {
      if (reported >= MAX_REPORTED) {
        unreported++;
        return;
      }
      reported++;
      ctx.addIssue({ code: 'custom', path, message, continue: !structural });
    };
    const entries = (row: unknown[], prefix: number[]) => {
      for (let j = 0; j < row.length; j++) {
        const v = row[j];
        if (typeof v !== 'number')
          report([...prefix, j], `expected a number, got ${jsonKind(v)}`, true);
        else if (!Number.isFinite(v))
          report([...prefix, j], `expected a finite number, got ${v}`, true);
        else {
          const problem = check?.(v);
          if (problem) report([...prefix, j], problem, false);
        }
      }
    };
    const what = depth === 1 ? 'a vector (an array of numbers)' : 'a matrix (an array of rows)';
    if (!Array.isArray(value)) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message:
          value === undefined
            ? `missing (expected ${what})`
            : `expected ${what}, got ${jsonKind(value)}`,
        continue: false,
      });
      return;
    }
    if (depth === 1) entries(value, []);
    else
      for (let i = 0; i < value.length; i++) {
        const row: unknown = value[i];
        if (Array.isArray(row)) entries(row, [i]);
        else report([i], `expected a row (an array of numbers), got ${jsonKind(row)}`, true);
      }
    if (unreported > 0)
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `${unreported} more bad entries`,
        params: { [OMITTED_PARAM]: unreported },
        continue: false,
      });
  }) as z.ZodType<number[] | number[][]>;
}
