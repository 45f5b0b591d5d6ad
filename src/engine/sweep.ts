/**
 * Parameter sweeps: which configurations a sweep runs. One or two numeric fields of the schema
 * (config.ts), each over a range `lo..hi[:n][:log]` or a list `a,b,c`, on several seeds. The CLI
 * (`lcp sweep`) and the app (the worker's sweep job, the Sweeps view, links) read the same syntax
 * here; sweepRun.ts runs the points and sweepStats.ts summarises them.
 */
import { FIELDS, parseConfig, type ConfigKey, type TrainConfig } from './config';
import { InputError, oneLine } from './errors';

/** Most values on one axis, and most seeds. */
export const MAX_POINTS = 1000;
export const MAX_SEEDS = 100;
/** Most training runs (cells × seeds) one sweep of the app holds. */
export const MAX_RUNS = 400;
/** Most updates one run of the app's sweep trains. */
export const MAX_UPDATES = 5000;

export interface SweepSpec {
  key: ConfigKey;
  values: number[];
}

/** Is this argument a sweep range (`key=lo..hi…`) rather than a `key=value` override? */
export function isSweepArg(arg: string): boolean {
  return /^[^=]+=[^=]*\.\./.test(arg);
}

/** The numeric field `key` names, or an InputError saying why it cannot be swept. */
function numericField(key: string): ConfigKey {
  if (!Object.hasOwn(FIELDS, key)) throw InputError.single(oneLine(key, 40), 'unknown field');
  const field = FIELDS[key as ConfigKey];
  if (field.type !== 'number' && field.type !== 'integer')
    throw InputError.single(key, `a sweep needs a numeric field; ${key} is ${field.type}`);
  return key as ConfigKey;
}

/** The numeric fields a sweep can vary (the schema's number and integer fields). */
export function sweepableKeys(): ConfigKey[] {
  return (Object.keys(FIELDS) as ConfigKey[]).filter((k) => {
    const t = FIELDS[k].type;
    return t === 'number' || t === 'integer';
  });
}

/**
 * `count` values from lo to hi, evenly or (log) geometrically spaced: v_i = lo + (hi − lo)·i/(n−1)
 * or lo·(hi/lo)^(i/(n−1)); an integer field's values are rounded and repeats dropped.
 */
export function sweepValues(
  key: ConfigKey,
  lo: number,
  hi: number,
  count: number,
  log: boolean,
): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi))
    throw InputError.single(key, `lo and hi must be numbers, got ${lo}..${hi}`);
  if (!Number.isInteger(count) || count < 1 || count > MAX_POINTS)
    throw InputError.single(key, `the count must be 1…${MAX_POINTS}`);
  if (log && (lo <= 0 || hi <= 0))
    throw InputError.single(key, 'a log range needs lo > 0 and hi > 0');
  let values = Array.from({ length: count }, (_, i) => {
    const f = count === 1 ? 0 : i / (count - 1);
    // Twelve digits: 1e-2, not 0.009999999999999998, in the lines a user reads.
    return Number((log ? lo * (hi / lo) ** f : lo + (hi - lo) * f).toPrecision(12));
  });
  if (FIELDS[key].type === 'integer') values = [...new Set(values.map(Math.round))];
  return values;
}

/**
 * `key=lo..hi[:n][:log]`: n values (default 9) from lo to hi, evenly or (log) geometrically
 * spaced; an integer field's values are rounded and repeats dropped.
 */
export function parseSweepSpec(arg: string): SweepSpec {
  const eq = arg.indexOf('=');
  const key = numericField(arg.slice(0, eq));
  const [range, ...options] = arg.slice(eq + 1).split(':');
  const [loText, hiText] = range.split('..');
  const lo = Number(loText);
  const hi = Number(hiText);
  if (loText.trim() === '' || hiText === undefined || hiText.trim() === '')
    throw InputError.single(key, 'expected lo..hi');
  if (!Number.isFinite(lo) || !Number.isFinite(hi))
    throw InputError.single(key, `lo and hi must be numbers, got ${oneLine(range, 40)}`);
  let count = 9;
  let log = false;
  for (const option of options) {
    if (option === 'log') log = true;
    else if (/^\d+$/.test(option)) count = Number(option);
    else throw InputError.single(key, `unknown option "${oneLine(option, 20)}" (a count or log)`);
  }
  return { key, values: sweepValues(key, lo, hi, count, log) };
}

/** `key=a,b,c`: the listed values as given (an integer field's must be integers). */
export function parseSweepList(arg: string): SweepSpec {
  const eq = arg.indexOf('=');
  const key = numericField(eq < 0 ? arg : arg.slice(0, eq));
  const items = eq < 0 ? [] : arg.slice(eq + 1).split(',');
  if (!items.length || items.some((t) => t.trim() === ''))
    throw InputError.single(key, 'expected values a,b,c or a range lo..hi[:n][:log]');
  if (items.length > MAX_POINTS) throw InputError.single(key, `at most ${MAX_POINTS} values`);
  const values = items.map(Number);
  const bad = items.find((_, i) => !Number.isFinite(values[i]));
  if (bad !== undefined)
    throw InputError.single(key, `values must be numbers, got "${oneLine(bad, 20)}"`);
  if (FIELDS[key].type === 'integer' && values.some((v) => !Number.isInteger(v)))
    throw InputError.single(key, `${key} takes integers`);
  return { key, values: [...new Set(values)] };
}

/** One axis of the app's sweep: a range or a list, whichever the text is. */
export function parseSweepAxis(arg: string): SweepSpec {
  return isSweepArg(arg) ? parseSweepSpec(arg) : parseSweepList(arg);
}

/** `base` with `overrides` and `seed`; a point the schema refuses says where it is. */
export function pointConfig(
  base: TrainConfig,
  overrides: Partial<Record<ConfigKey, number>>,
  seed: number,
): TrainConfig {
  try {
    return parseConfig({ ...overrides, seed }, base);
  } catch (e) {
    if (e instanceof InputError) {
      const at = Object.entries(overrides)
        .map(([k, v]) => `${k} = ${v}`)
        .join(', ');
      throw new InputError(
        e.issues.map((i) => ({ ...i, message: `at ${at}: ${i.message}` })),
        e.omitted,
      );
    }
    throw e;
  }
}

/** What the app's sweep measures at the end of each run (one is plotted at a time). */
export const SWEEP_METRICS = [
  'loss',
  'testLoss',
  'testAccuracy',
  'cosine',
  'steps',
  'control',
] as const;
export type SweepMetric = (typeof SWEEP_METRICS)[number];

export const METRIC_LABELS: Record<SweepMetric, string> = {
  loss: 'final loss (training)',
  testLoss: 'final loss (test)',
  testAccuracy: 'test accuracy',
  cosine: 'alignment cos(ΔW, −∇L)',
  steps: 'mean solver steps',
  control: 'control ½‖ψ‖² + ½‖u‖²',
};

/** What a sweep uses when not told: 2 seeds, 10 updates per run, the test loss shown. */
export const DEFAULT_SWEEP: { seeds: number; updates: number; metric: SweepMetric } = {
  seeds: 2,
  updates: 10,
  metric: 'testLoss',
};

/**
 * The app's sweep: one or two axes (the text of each, range or list), `seeds` seeds from the
 * configuration's (seed, seed + 1, …), `updates` training updates per run.
 */
export interface SweepRequest {
  axes: string[];
  seeds: number;
  updates: number;
}

/** A request checked: its axes parsed, and the number of runs within MAX_RUNS. */
export interface SweepPlan {
  request: SweepRequest;
  axes: SweepSpec[];
  /** Cells in row-major order (the first axis slowest): each cell's value on every axis. */
  cells: number[][];
}

/** Check a request and lay out its grid; throws InputError naming what is wrong. */
export function planSweep(request: SweepRequest): SweepPlan {
  const { axes: texts, seeds, updates } = request;
  if (texts.length < 1 || texts.length > 2)
    throw InputError.single('axes', 'a sweep has one or two parameters');
  const axes = texts.map(parseSweepAxis);
  if (axes.length === 2 && axes[0].key === axes[1].key)
    throw InputError.single(axes[1].key, 'the two parameters must differ');
  if (!Number.isInteger(seeds) || seeds < 1 || seeds > MAX_SEEDS)
    throw InputError.single('seeds', `expected an integer 1…${MAX_SEEDS}`);
  if (!Number.isInteger(updates) || updates < 1 || updates > MAX_UPDATES)
    throw InputError.single('updates', `expected an integer 1…${MAX_UPDATES}`);
  const cells =
    axes.length === 1
      ? axes[0].values.map((v) => [v])
      : axes[0].values.flatMap((a) => axes[1].values.map((b) => [a, b]));
  if (cells.length * seeds > MAX_RUNS)
    throw InputError.single(
      'points',
      `${cells.length} points × ${seeds} seeds = ${cells.length * seeds} runs; at most ${MAX_RUNS}`,
    );
  return { request, axes, cells };
}

/** The overrides of cell `values` of a plan. */
export function cellOverrides(
  plan: SweepPlan,
  values: number[],
): Partial<Record<ConfigKey, number>> {
  return Object.fromEntries(plan.axes.map((a, i) => [a.key, values[i]]));
}
