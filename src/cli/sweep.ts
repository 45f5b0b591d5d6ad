/**
 * `sweep PRESET|FILE key=lo..hi[:n][:log] [key=value ...] [seeds=N]`: one numeric field of the
 * configuration over a range, on N seeds, one JSON line per point and seed.
 *
 * Sweeping `alpha` is the α-limit experiment (the paper's claim that the least-control update
 * becomes the gradient as the control weakens): on the first training sample of the network as
 * built, each point prints `alpha`, `cosine` and `normRatio` of (α/k_i)·ΔW against −∇L, and
 * `outputError` = ‖∂L/∂y(y*)‖ / ‖∂L/∂y(y⁰)‖ (‖y* − t‖ / ‖y⁰ − t‖ for mse), with no training.
 * Any other field trains for the configuration's epochs and prints the last epoch's line.
 */
import { alphaSweepSliced, analysisInput, disposeInput } from '../engine/alphaSweep';
import { FIELDS, parseConfig, type ConfigKey, type TrainConfig } from '../engine/config';
import { DivergenceError, InputError, oneLine } from '../engine/errors';
import { Simulation } from '../engine/simulation';
import { drain } from '../engine/sliced';
import type { MnistData } from '../engine/tasks/mnistData';
import { PRESET_LIST, loadMnist, loadTrainConfig, prepareBackend, round, trainRun } from './train';

/** Most points in one sweep, and most seeds. */
export const MAX_POINTS = 1000;
export const MAX_SEEDS = 100;

export interface SweepSpec {
  key: ConfigKey;
  values: number[];
}

/** Is this argument a sweep range (`key=lo..hi…`) rather than a `key=value` override? */
export function isSweepArg(arg: string): boolean {
  return /^[^=]+=[^=]*\.\./.test(arg);
}

/**
 * `key=lo..hi[:n][:log]`: n values (default 9) from lo to hi, evenly or (log) geometrically
 * spaced; an integer field's values are rounded and repeats dropped.
 */
export function parseSweepSpec(arg: string): SweepSpec {
  const eq = arg.indexOf('=');
  const key = arg.slice(0, eq);
  if (!Object.hasOwn(FIELDS, key)) throw InputError.single(oneLine(key, 40), 'unknown field');
  const field = FIELDS[key as ConfigKey];
  if (field.type !== 'number' && field.type !== 'integer')
    throw InputError.single(key, `a sweep needs a numeric field; ${key} is ${field.type}`);
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
  if (count < 1 || count > MAX_POINTS)
    throw InputError.single(key, `the count must be 1…${MAX_POINTS}`);
  if (log && (lo <= 0 || hi <= 0))
    throw InputError.single(key, 'a log range needs lo > 0 and hi > 0');
  let values = Array.from({ length: count }, (_, i) => {
    const f = count === 1 ? 0 : i / (count - 1);
    // Twelve digits: 1e-2, not 0.009999999999999998, in the lines a user reads.
    return Number((log ? lo * (hi / lo) ** f : lo + (hi - lo) * f).toPrecision(12));
  });
  if (field.type === 'integer') values = [...new Set(values.map(Math.round))];
  return { key: key as ConfigKey, values };
}

/** The arguments: source, the one sweep range, `seeds=N`, and the other overrides. */
function parseArgs(args: string[]): {
  source: string;
  spec: SweepSpec;
  seeds: number;
  overrides: string[];
} {
  const [source, ...rest] = args;
  if (!source || isSweepArg(source))
    throw InputError.single('arguments', `expected a preset (${PRESET_LIST}) or a config file`);
  const ranges = rest.filter(isSweepArg);
  if (ranges.length !== 1)
    throw InputError.single(
      'arguments',
      `expected one range key=lo..hi[:n][:log], got ${ranges.length}`,
    );
  let seeds = 1;
  const overrides: string[] = [];
  for (const arg of rest) {
    if (isSweepArg(arg)) continue;
    if (arg.startsWith('seeds=')) {
      seeds = Number(arg.slice(6));
      if (!Number.isInteger(seeds) || seeds < 1 || seeds > MAX_SEEDS)
        throw InputError.single('seeds', `expected an integer 1…${MAX_SEEDS}`);
    } else overrides.push(arg);
  }
  return { source, spec: parseSweepSpec(ranges[0]), seeds, overrides };
}

export interface SweepIo {
  out(text: string): void;
  err(text: string): void;
  progress: boolean;
}

/** Run the sweep; every point prints a line (a point that cannot run says why in its line). */
export async function runSweep(args: string[], io: SweepIo): Promise<void> {
  const { source, spec, seeds, overrides } = parseArgs(args);
  const base = await loadTrainConfig(source, overrides);
  const { values } = spec;
  // Every point must be a valid configuration before anything runs.
  for (const value of values) pointConfig(base, spec.key, value, base.seed);
  await prepareBackend(base);
  const mnist = base.task === 'mnist' ? await loadMnist() : undefined;
  const print = (line: Record<string, unknown>) => io.out(JSON.stringify(line) + '\n');
  for (let s = 0; s < seeds; s++) {
    const seed = base.seed + s;
    if (spec.key === 'alpha')
      alphaPoints(pointConfig(base, 'seed', seed, seed), values, print, mnist);
    else
      for (const value of values)
        await trainPoint(pointConfig(base, spec.key, value, seed), spec.key, value, io, print);
  }
}

function pointConfig(base: TrainConfig, key: ConfigKey, value: number, seed: number): TrainConfig {
  try {
    return parseConfig({ [key]: value, seed }, base);
  } catch (e) {
    if (e instanceof InputError)
      throw new InputError(
        e.issues.map((i) => ({ ...i, message: `at ${key} = ${value}: ${i.message}` })),
        e.omitted,
      );
    throw e;
  }
}

/** The α analysis of the first training sample, at every α of the sweep. */
function alphaPoints(
  config: TrainConfig,
  alphas: number[],
  print: (line: Record<string, unknown>) => void,
  mnist?: MnistData,
): void {
  const sim = new Simulation(config, mnist);
  const input = analysisInput(sim);
  try {
    const result = drain(alphaSweepSliced(input, alphas));
    for (const p of result.points)
      print({
        alpha: p.alpha,
        seed: config.seed,
        cosine: round(p.cosine),
        normRatio: round(p.normRatio),
        outputError: round(p.outputError),
        settled: p.settled,
        diverged: p.diverged,
        steps: p.steps,
      });
  } finally {
    disposeInput(input);
    sim.dispose();
  }
}

/** Train one point; a divergence is that point's result, not the sweep's end. */
async function trainPoint(
  config: TrainConfig,
  key: ConfigKey,
  value: number,
  io: SweepIo,
  print: (line: Record<string, unknown>) => void,
): Promise<void> {
  const epochs: Record<string, number | null>[] = [];
  try {
    await trainRun(config, io, (line) => epochs.push(line));
    print({ [key]: value, seed: config.seed, ...epochs.at(-1), diverged: false });
  } catch (e) {
    if (!(e instanceof DivergenceError)) throw e;
    // The epochs before it stand: the last one is printed with the reason.
    print({ [key]: value, seed: config.seed, ...epochs.at(-1), diverged: true, error: e.message });
  }
}
