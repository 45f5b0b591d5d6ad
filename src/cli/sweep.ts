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
import type { ConfigKey, TrainConfig } from '../engine/config';
import { META_PRESETS } from '../engine/meta/presets';
import { InputError } from '../engine/errors';
import { Simulation } from '../engine/simulation';
import { drain } from '../engine/sliced';
import {
  MAX_SEEDS,
  isSweepArg,
  parseSweepSpec,
  pointConfig as cellConfig,
  type SweepSpec,
} from '../engine/sweep';
import { trainRunSliced } from '../engine/sweepRun';
import type { MnistData } from '../engine/tasks/mnistData';
import {
  PRESET_LIST,
  epochLine,
  loadMnist,
  loadTrainConfig,
  prepareBackend,
  round,
  trainProgress,
} from './train';

// The range syntax and the points live in the engine (the app's sweeps read them too).
export { MAX_POINTS, MAX_SEEDS, isSweepArg, parseSweepSpec, type SweepSpec } from '../engine/sweep';

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
  if (Object.hasOwn(META_PRESETS, source))
    throw InputError.single(
      'preset',
      `"${source}" is a meta-learning preset: sweep runs the network presets; train it with \`train ${source} key=value …\``,
    );
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
        trainPoint(pointConfig(base, spec.key, value, seed), spec.key, value, io, print, mnist);
  }
}

function pointConfig(base: TrainConfig, key: ConfigKey, value: number, seed: number): TrainConfig {
  return cellConfig(base, key === 'seed' ? {} : { [key]: value }, seed);
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
function trainPoint(
  config: TrainConfig,
  key: ConfigKey,
  value: number,
  io: SweepIo,
  print: (line: Record<string, unknown>) => void,
  mnist?: MnistData,
): void {
  const run = drain(
    trainRunSliced(config, { epochs: config.epochs }, mnist, trainProgress(config, io)),
  );
  const last = run.epochs.at(-1);
  const line = last ? epochLine(last) : {};
  // The epochs before a divergence stand: the last one is printed with the reason.
  if (run.diverged)
    print({ [key]: value, seed: config.seed, ...line, diverged: true, error: run.reason });
  else print({ [key]: value, seed: config.seed, ...line, diverged: false });
}
