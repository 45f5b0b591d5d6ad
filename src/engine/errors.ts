/** The most problems one error message lists; the rest are counted ("… and N more"). */
export const MAX_REPORTED = 20;

/** The longest field name and message one listed problem keeps (user keys can be any length). */
const MAX_FIELD = 120;
const MAX_MESSAGE = 400;

/**
 * Text made safe for one line of a notice or of stderr: control characters (newlines included)
 * and line separators escaped, lone surrogates replaced, at most `max` characters. Field names and
 * values that users type end up in messages, and one message must stay one bounded line.
 */
export function oneLine(text: string, max = MAX_MESSAGE): string {
  const pieces: string[] = [];
  for (let i = 0; i < text.length && pieces.length <= max; i++) {
    const c = text.charCodeAt(i);
    const next = text.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      // A surrogate pair is one character.
      pieces.push(text.slice(i, i + 2));
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) pieces.push('\ufffd');
    else if (c === 0x0a) pieces.push('\\n');
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029)
      pieces.push(`\\u${c.toString(16).padStart(4, '0')}`);
    else pieces.push(text[i]);
  }
  return pieces.length > max ? pieces.slice(0, max - 1).join('') + '…' : pieces.join('');
}

export interface Issue {
  field: string;
  message: string;
}

/** Bad user input (scenario file, config, URL, imported JSON): names the offending field. */
export class InputError extends Error {
  readonly issues: Issue[];
  /** Problems found beyond `issues` (validation stops collecting after MAX_REPORTED). */
  readonly omitted: number;
  constructor(issues: Issue[], omitted = 0) {
    const shown = issues.slice(0, MAX_REPORTED);
    const more = omitted + issues.length - shown.length;
    super(
      shown.map((i) => `${oneLine(i.field, MAX_FIELD)}: ${oneLine(i.message)}`).join('; ') +
        (more > 0 ? `; … and ${more} more problem${more === 1 ? '' : 's'}` : ''),
    );
    this.name = 'InputError';
    this.issues = shown;
    this.omitted = more;
  }
  static single(field: string, message: string): InputError {
    return new InputError([{ field, message }]);
  }
}

/** The dynamics blew up (non-finite values or a residual that keeps growing). */
export class DivergenceError extends Error {
  /** Which solve diverged and at which step; the caller keeps its last good state. */
  constructor(
    readonly phase: string,
    readonly step: number,
    readonly reason: string,
  ) {
    super(`${phase} dynamics diverged at step ${step}: ${reason}`);
    this.name = 'DivergenceError';
  }
}
