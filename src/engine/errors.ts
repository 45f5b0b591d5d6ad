/** Bad user input (scenario file, config, URL, imported JSON): names the offending field. */
export class InputError extends Error {
  readonly issues: { field: string; message: string }[];
  constructor(issues: { field: string; message: string }[]) {
    super(issues.map((i) => `${i.field}: ${i.message}`).join('; '));
    this.name = 'InputError';
    this.issues = issues;
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
