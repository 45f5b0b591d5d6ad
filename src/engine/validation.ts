import type { z } from 'zod';
import { InputError } from './errors';

/** `model.W[2][3]` from a zod path. */
export function fieldName(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(root)';
}

/** Every zod issue as a named field and what was expected. */
export function inputErrorFromZod(error: z.ZodError): InputError {
  return new InputError(
    error.issues.map((issue) => {
      const base = issue.path.length ? fieldName(issue.path) : '(root)';
      let message = issue.message;
      if (issue.code === 'invalid_type' && /received undefined/.test(message)) {
        message = `missing (expected ${issue.expected})`;
      } else if (issue.code === 'unrecognized_keys') {
        return {
          field: issue.keys.map((k) => (issue.path.length ? `${base}.${k}` : k)).join(', '),
          message: 'unknown field',
        };
      }
      return { field: base, message };
    }),
  );
}
