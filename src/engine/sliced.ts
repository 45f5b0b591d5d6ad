/**
 * Long computations in slices. A sliced computation is a generator: each `next()` does a bounded
 * piece of work (one kernel dispatch, one check interval, one batch) and yields what it has done,
 * so that the worker can answer messages, show progress and stop between pieces. Stopping is
 * `return()`: the generators' `finally` blocks free the tensors they own. The CLI and tests
 * simply drain them.
 */

/** What a sliced computation reports at each yield. */
export interface SliceProgress {
  /** What is running, in a word or two ("free", "controlled", "adjoint (RBP)", "noise", …). */
  stage: string;
  /** Work done in this stage and the most it can take (steps, samples or batches). */
  done: number;
  total: number;
}

export type Sliced<T> = Generator<SliceProgress, T, void>;

/** Run a sliced computation (or any generator whose yields only mark slices) to its end. */
export function drain<T>(work: Generator<unknown, T, void>): T {
  for (;;) {
    const r = work.next();
    if (r.done) return r.value;
  }
}

/** A finished value as a sliced computation (for code paths that have nothing to slice). */
// eslint-disable-next-line require-yield
export function* immediate<T>(value: T): Sliced<T> {
  return value;
}

/** Work between yields of the step-by-step computations (well inside the worker's slice). */
export const YIELD_MS = 8;

/**
 * A generator's clock: `due()` is true when YIELD_MS have passed since it last was, so that a
 * loop yields as often as its steps' cost requires — every few hundred steps of a small network,
 * every step of a huge one.
 */
export function yieldClock(ms = YIELD_MS): () => boolean {
  let last = performance.now();
  return () => {
    const now = performance.now();
    if (now - last < ms) return false;
    last = now;
    return true;
  };
}
