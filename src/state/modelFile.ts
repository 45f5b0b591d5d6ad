/**
 * The model as a file: weights, configuration (seed included), the step and counters, the
 * current state and the action log. Loading it back replays the log from the seed where the log
 * allows (the result is then the sender's bit for bit on the same backend, and checked against
 * the file's weights), else it continues from the file's weights. Reading is strict: a file that
 * is not a valid model changes nothing and says why.
 */
import { z } from 'zod';
import {
  MAX_LOG_ENTRIES,
  PARAM_KEYS,
  logEntrySchema,
  type LogEntry,
  type ParamKey,
} from '../engine/actionLog';
import { BACKENDS, configDiff, parseConfig, type TrainConfig } from '../engine/config';
import { InputError } from '../engine/errors';
import type { Checkpoint, Matrix } from '../worker/protocol';

export const MODEL_FORMAT = 'lcp-lab-model';
export const MODEL_VERSION = 1;
/** Largest model file read (an MNIST network of 256-256 is ≈ 10 MB of JSON). */
export const MAX_MODEL_BYTES = 256 * 2 ** 20;
/** Most floats in one matrix (the configuration's own bound on weights). */
const MAX_FLOATS = 2 ** 25;

export interface ModelFile {
  format: typeof MODEL_FORMAT;
  version: number;
  exportedAt: string;
  config: TrainConfig;
  /** The backend the run used. */
  backend: string;
  chapter: string | null;
  scene: number;
  /** The action log since the network was built; `continued`: why it cannot replay from the seed. */
  log: { continued: string | null; entries: LogEntry[] };
  step: number;
  t: number;
  sample: number;
  updates: number;
  epoch: number;
  control: boolean;
  weights: Partial<Record<ParamKey, { rows: number; cols: number; data: number[] }>>;
  state: { phi: number[]; y: number[]; uI: number[]; psi: number[] };
}

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const floats = z.array(z.number().finite()).max(MAX_FLOATS);
const matrix = z
  .object({ rows: z.number().int().min(1), cols: z.number().int().min(1), data: floats })
  .refine((m) => m.data.length === m.rows * m.cols, 'data length is not rows × cols');

const fileSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  version: z.literal(MODEL_VERSION),
  exportedAt: z.string().max(100),
  config: z.record(z.string(), z.unknown()),
  backend: z.string().max(20),
  chapter: z.string().max(100).nullable(),
  scene: count,
  log: z.object({
    continued: z.string().max(200).nullable(),
    entries: z.array(logEntrySchema).max(MAX_LOG_ENTRIES),
  }),
  step: count,
  t: z.number().finite(),
  sample: count,
  updates: count,
  epoch: count,
  control: z.boolean(),
  weights: z.partialRecord(z.enum(PARAM_KEYS), matrix),
  state: z.object({ phi: floats, y: floats, uI: floats, psi: floats }),
});

/** What the page holds of a run, to write. */
export interface ModelSource {
  config: TrainConfig;
  backend: string;
  chapter: string | null;
  scene: number;
  log: { continued: string | null; entries: LogEntry[] };
  checkpoint: Checkpoint;
}

export function modelFile(src: ModelSource, now = new Date()): ModelFile {
  const cp = src.checkpoint;
  const weights: ModelFile['weights'] = {};
  for (const [k, m] of Object.entries(cp.params) as [ParamKey, Matrix | undefined][])
    if (m) weights[k] = { rows: m.rows, cols: m.cols, data: Array.from(m.data) };
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    exportedAt: now.toISOString(),
    config: src.config,
    backend: src.backend,
    chapter: src.chapter,
    scene: src.scene,
    log: src.log,
    step: cp.step,
    t: cp.t,
    sample: cp.sample,
    updates: cp.updates,
    epoch: cp.epoch,
    control: cp.control,
    weights,
    state: {
      phi: Array.from(cp.state.phi),
      y: Array.from(cp.state.y),
      uI: Array.from(cp.state.uI),
      psi: Array.from(cp.state.psi),
    },
  };
}

/** A model file's text, or an InputError naming what is wrong. */
export function readModelFile(text: string): ModelFile {
  if (text.length > MAX_MODEL_BYTES)
    throw InputError.single('file', `is over ${MAX_MODEL_BYTES / 2 ** 20} MiB`);
  let raw: unknown;
  try {
    raw = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    throw InputError.single('file', 'is not JSON');
  }
  const r = fileSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw InputError.single(issue.path.join('.') || 'file', issue.message);
  }
  const config = parseConfig(r.data.config);
  return { ...r.data, config } as ModelFile;
}

/** The file's weights, state and counters as a checkpoint the engine continues from. */
export function checkpointOf(file: ModelFile): Checkpoint {
  const params: Checkpoint['params'] = {};
  for (const [k, m] of Object.entries(file.weights) as [ParamKey, ModelFile['weights'][ParamKey]][])
    if (m) params[k] = { rows: m.rows, cols: m.cols, data: Float32Array.from(m.data) };
  return {
    params,
    state: {
      phi: Float32Array.from(file.state.phi),
      y: Float32Array.from(file.state.y),
      uI: Float32Array.from(file.state.uI),
      psi: Float32Array.from(file.state.psi),
    },
    sample: file.sample,
    t: file.t,
    step: file.step,
    control: file.control,
    updates: file.updates,
    epoch: file.epoch,
  };
}

/** The backend a file names, if it is one this page knows (not 'auto'). */
export function fileBackend(file: ModelFile): Exclude<TrainConfig['backend'], 'auto'> | null {
  return (BACKENDS as readonly string[]).includes(file.backend) && file.backend !== 'auto'
    ? (file.backend as Exclude<TrainConfig['backend'], 'auto'>)
    : null;
}

/** Largest |a − b| over the weights both hold (0: equal bit for bit, as float32). */
export function weightsDifference(a: Checkpoint['params'], b: Checkpoint['params']): number {
  let worst = 0;
  for (const k of PARAM_KEYS) {
    const x = a[k];
    const y = b[k];
    if (!x && !y) continue;
    if (!x || !y || x.data.length !== y.data.length) return Infinity;
    for (let i = 0; i < x.data.length; i++)
      worst = Math.max(worst, Math.abs(x.data[i] - y.data[i]));
  }
  return worst;
}

/**
 * A configuration file for the CLI (`npm run lcp -- train FILE`): the fields that differ from the
 * defaults, seed and backend included (the CLI has no WebGL: webgl becomes auto).
 */
export function cliConfig(config: TrainConfig): string {
  const fields: Partial<TrainConfig> = configDiff(config);
  if (config.backend === 'webgl') delete fields.backend;
  return `${JSON.stringify({ seed: config.seed, ...fields }, null, 2)}\n`;
}
