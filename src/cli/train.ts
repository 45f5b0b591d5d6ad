import { existsSync } from 'node:fs';
import { defaultConfig, parseConfig, parseOverrides, type TrainConfig } from '../engine/config';
import { InputError, oneLine, type Issue } from '../engine/errors';
import { META_PRESETS } from '../engine/meta/presets';
import { PRESETS } from '../engine/presets';
import { seededTrainer } from '../engine/sweepRun';
import { loadMnistNode } from '../engine/tasks/loadMnistNode';
import type { MnistData } from '../engine/tasks/mnistData';
import { fastTransposedMatMul, prepareWasmKernel } from '../engine/kernels/wasm/kernel';
import { selectBackend } from '../engine/tf';
import type { BatchResult, EpochMetrics } from '../engine/trainer';
import { jsonKind } from '../engine/validation';
import { CONFIG_FILE_LIMIT, fileLabel, isJsonObject, readJsonFile } from './io';

export const PRESET_LIST = [...Object.keys(PRESETS), ...Object.keys(META_PRESETS)].join(', ');

/** A preset by name: own keys of PRESETS only (`constructor`, `__proto__` are not presets). */
function presetConfig(name: string): TrainConfig | null {
  return Object.hasOwn(PRESETS, name) ? parseConfig(PRESETS[name].config) : null;
}

/**
 * A config file: a JSON object of fields, optionally with `"preset": NAME` as the base (the
 * defaults otherwise). Returns the base and the file's own fields, not yet validated.
 */
async function readConfigFile(
  path: string,
): Promise<{ base: TrainConfig; fields: Record<string, unknown> }> {
  const raw = await readJsonFile(path, CONFIG_FILE_LIMIT);
  if (!isJsonObject(raw))
    throw InputError.single(
      fileLabel(path),
      `expected a JSON object of configuration fields, got ${jsonKind(raw)}`,
    );
  const { preset, ...fields } = raw;
  if (preset === undefined) return { base: defaultConfig(), fields };
  const base = typeof preset === 'string' ? presetConfig(preset) : null;
  if (!base)
    throw InputError.single(
      'preset',
      typeof preset === 'string'
        ? `unknown preset "${oneLine(preset, 60)}" (presets: ${PRESET_LIST})`
        : `expected a preset name (${PRESET_LIST})`,
    );
  return { base, fields };
}

/**
 * A preset name or a config file, then `key=value` overrides; the file's fields and the
 * overrides are validated together (so an override can fix the file) and every problem is
 * reported at once. The CLI computes in Node: `backend=webgl` is refused here.
 */
export async function loadTrainConfig(source: string, overrides: string[]): Promise<TrainConfig> {
  let base = presetConfig(source);
  let fields: Record<string, unknown> = {};
  if (!base) {
    if (!existsSync(source))
      throw InputError.single(
        'preset',
        `unknown preset "${source.includes('/') ? fileLabel(source) : oneLine(source, 60)}" and no such file (presets: ${PRESET_LIST})`,
      );
    ({ base, fields } = await readConfigFile(source));
  }
  const { values, issues, omitted } = parseOverrides(overrides);
  let config: TrainConfig;
  try {
    config = parseConfig({ ...fields, ...values }, base);
  } catch (e) {
    if (e instanceof InputError)
      throw new InputError([...issues, ...e.issues], omitted + e.omitted);
    throw e;
  }
  const cliIssues: Issue[] = [...issues];
  if (config.backend === 'webgl')
    cliIssues.push({
      field: 'backend',
      message: 'webgl is not available in the CLI (Node has no WebGL); use auto, wasm or cpu',
    });
  if (cliIssues.length) throw new InputError(cliIssues, omitted);
  return config;
}

/** MNIST from `npm run data`'s file; its absence is the user's to fix (exit 2). */
export async function loadMnist(): Promise<MnistData> {
  try {
    return await loadMnistNode();
  } catch (e) {
    if ((e as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT')
      throw InputError.single(
        'task',
        'MNIST data not found (public/data/mnist.bin): run `npm run data` first',
      );
    throw e;
  }
}

export function round(v: number | null | undefined, digits = 6): number | null {
  return v === null || v === undefined || !Number.isFinite(v)
    ? null
    : Number(v.toPrecision(digits));
}

/** The epoch line of DESIGN.md §2 (then the extra alignment metrics). */
export function epochLine(m: EpochMetrics): Record<string, number | null> {
  const line: Record<string, number | null> = {
    epoch: m.epoch,
    loss: round(m.loss),
    accuracy: round(m.accuracy),
    testLoss: round(m.testLoss),
    testAccuracy: round(m.testAccuracy),
    control: round(m.control),
    cosine: round(m.cosine),
    steps: round(m.steps, 5),
    stepsFree: round(m.stepsFree, 5),
    ...(m.stepsControlled !== undefined ? { stepsControlled: round(m.stepsControlled, 5) } : {}),
    ...(m.stepsAdjoint !== undefined ? { stepsAdjoint: round(m.stepsAdjoint, 5) } : {}),
    seconds: round(m.seconds, 4),
    trainSeconds: round(m.trainSeconds, 4),
    evalSeconds: round(m.evalSeconds, 4),
    lr: round(m.lr),
    spectralRadius: round(m.spectralRadius),
  };
  if (m.alignmentQ !== undefined) line.alignmentQ = round(m.alignmentQ);
  if (m.angleB !== undefined) line.angleB = round(m.angleB);
  return line;
}

/** Where `train` writes: epoch lines (stdout) and progress (stderr, when `progress`). */
export interface TrainIo {
  out(text: string): void;
  err(text: string): void;
  progress: boolean;
}

/** `train PRESET|FILE [key=value …]`: one JSON line per epoch on stdout, progress on stderr. */
export async function runTrain(args: string[], io: TrainIo): Promise<void> {
  const [source, ...overrides] = args;
  if (!source)
    throw InputError.single('arguments', `expected a preset (${PRESET_LIST}) or a config file`);
  // Meta-learning (issue 14) has its own presets and configuration.
  const meta = await import('./metaTrain');
  if (meta.isMetaPreset(source)) return meta.runMetaTrain(source, {}, overrides, io);
  const metaFile = await meta.metaFileFields(source);
  if (metaFile) return meta.runMetaTrain(metaFile.preset, metaFile.fields, overrides, io);
  const config = await loadTrainConfig(source, overrides);
  await prepareBackend(config);
  await trainRun(config, io, (line) => io.out(JSON.stringify(line) + '\n'));
}

/** Train `config` for its epochs (on the backend already chosen), one epoch line at a time. */
export async function trainRun(
  config: TrainConfig,
  io: Pick<TrainIo, 'err' | 'progress'>,
  onEpoch: (line: Record<string, number | null>) => void,
): Promise<void> {
  const mnist = config.task === 'mnist' ? await loadMnist() : undefined;
  const trainer = seededTrainer(config, mnist);
  const progress = trainProgress(config, io);
  try {
    for (let e = 0; e < config.epochs; e++) {
      const m = trainer.trainEpoch((done, total, r) => progress(e, done, total, r));
      onEpoch(epochLine(m));
    }
  } finally {
    trainer.dispose();
  }
}

/** Progress on stderr (when `io.progress`): a line per epoch, rewritten at most once a second. */
export function trainProgress(
  config: TrainConfig,
  io: Pick<TrainIo, 'err' | 'progress'>,
): (epoch: number, done: number, total: number, r: BatchResult) => void {
  let last = 0;
  return (e, done, total, r) => {
    if (!io.progress) return;
    const now = performance.now();
    if (done === 1) last = 0;
    if (now - last > 1000 || done === total) {
      last = now;
      io.err(
        `\repoch ${e + 1}/${config.epochs}  batch ${done}/${total}  loss ${r.loss.toFixed(4)}  steps ${r.steps}   `,
      );
    }
    if (done === total) io.err('\n');
  };
}

/** The backend `train` computes on in Node: wasm when asked, or when auto finds it faster. */
export async function prepareBackend(config: TrainConfig): Promise<void> {
  if (config.backend === 'wasm') await wasmBackend();
  else if (config.backend === 'auto') await autoNodeBackend(config);
}

async function wasmBackend(): Promise<void> {
  await import('@tensorflow/tfjs-backend-wasm');
  await selectBackend('wasm');
  // As the app's worker does on selecting wasm: from the first product on, not only after the
  // first fused dispatch (BP on a layered net never makes one).
  fastTransposedMatMul();
  // The step kernel's helper threads announce themselves by message, which a training loop that
  // never yields would not read: without this wait the CLI ran every step on one core.
  await prepareWasmKernel();
}

/**
 * In Node the WASM backend's matMul is several times faster than the CPU backend's for large
 * layers; small nets are dispatch-bound and stay on CPU.
 */
async function autoNodeBackend(config: TrainConfig): Promise<void> {
  const n =
    config.topology === 'layered' ? config.layers.reduce((a, b) => a + b, 0) : config.hidden;
  if (n * config.batch >= 2048 || config.task === 'mnist') await wasmBackend();
}
