import { z } from 'zod';
import {
  ACTIVATIONS,
  CONTROLLER_KINDS,
  READOUTS,
  type Activation,
  type ControllerKind,
  type Readout,
} from './kinds';
import { InputError } from './errors';
import { inputErrorFromZod } from './validation';

/**
 * The one configuration schema (DESIGN.md §3): every parameter of the model, the controller and
 * training, with its type, range, default, unit, symbol and a one-line description. The CLI's
 * config files and key=value overrides, the UI's controls and the URL codec are all generated
 * from FIELDS.
 */

export const TASKS = [
  'pattern',
  'teacher',
  'circle',
  'xor',
  'spiral',
  'gaussians',
  'mnist',
] as const;
export type TaskName = (typeof TASKS)[number];
export const TOPOLOGIES = ['recurrent', 'layered'] as const;
export const METHODS = ['lcp', 'rbp'] as const;
export const OPTIMIZERS = ['sgd', 'adam'] as const;
export const SCHEDULES = ['constant', 'cosine'] as const;
export const ENERGY_STARTS = ['zero', 'free'] as const;
export const BACKENDS = ['auto', 'webgl', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

export interface TrainConfig {
  seed: number;
  task: TaskName;
  noise: number;
  trainSize: number;
  testSize: number;
  limit: number;
  inputs: number;
  outputs: number;
  topology: (typeof TOPOLOGIES)[number];
  readout: Readout;
  hidden: number;
  layers: number[];
  activation: Activation;
  gain: number;
  method: (typeof METHODS)[number];
  controller: ControllerKind;
  alpha: number;
  ki: number;
  kp: number;
  dt: number;
  tauPhi: number;
  tauY: number;
  tauU: number;
  tauPsi: number;
  tol: number;
  maxSteps: number;
  energyLr: number;
  energyStart: (typeof ENERGY_STARTS)[number];
  rbpTol: number;
  rbpMaxSteps: number;
  optimizer: (typeof OPTIMIZERS)[number];
  lr: number;
  schedule: (typeof SCHEDULES)[number];
  lrFinal: number;
  weightDecay: number;
  clip: number;
  batch: number;
  epochs: number;
  lambdaKP: number;
  learnQ: boolean;
  tauQ: number;
  lambdaQ: number;
  noiseSigma: number;
  noiseTimeScale: number;
  tauEps: number;
  noiseSteps: number;
  backend: BackendChoice;
}

export type ConfigKey = keyof TrainConfig;

export const GROUPS = [
  'task',
  'network',
  'controller',
  'solver',
  'learning',
  'feedback',
  'runtime',
] as const;
export type Group = (typeof GROUPS)[number];

interface BaseField {
  group: Group;
  symbol: string;
  unit: string;
  description: string;
  /** Applies to a running simulation without rebuilding the network or the data. */
  live: boolean;
}
export interface NumberField extends BaseField {
  type: 'number' | 'integer';
  default: number;
  min: number;
  max: number;
  /** min itself is not allowed (e.g. time constants > 0). */
  minExclusive?: boolean;
  /** Log-scaled slider. */
  log?: boolean;
}
export interface EnumField extends BaseField {
  type: 'enum';
  default: string;
  options: readonly string[];
}
export interface BooleanField extends BaseField {
  type: 'boolean';
  default: boolean;
}
export interface IntegerListField extends BaseField {
  type: 'integer-list';
  default: number[];
  min: number;
  max: number;
}
export type Field = NumberField | EnumField | BooleanField | IntegerListField;

const num = (f: Omit<NumberField, 'type'>): NumberField => ({ type: 'number', ...f });
const int = (f: Omit<NumberField, 'type'>): NumberField => ({ type: 'integer', ...f });
const choice = (f: Omit<EnumField, 'type'>): EnumField => ({ type: 'enum', ...f });

export const FIELDS: Record<ConfigKey, Field> = {
  seed: int({
    group: 'task',
    symbol: 'seed',
    unit: '',
    default: 1,
    min: 0,
    max: 2 ** 31 - 1,
    live: false,
    description: 'One seed for initialisation, data, order and noise (separate streams)',
  }),
  task: choice({
    group: 'task',
    symbol: 'task',
    unit: '',
    default: 'circle',
    options: TASKS,
    live: false,
    description:
      'What the network learns: one pattern, a teacher network, 2-D classification or MNIST',
  }),
  noise: num({
    group: 'task',
    symbol: 'noise',
    unit: '',
    default: 0.1,
    min: 0,
    max: 1,
    live: false,
    description: 'Input noise of the 2-D tasks (uniform, ± this, in units of the data radius)',
  }),
  trainSize: int({
    group: 'task',
    symbol: 'N_train',
    unit: 'samples',
    default: 1000,
    min: 1,
    max: 100_000,
    live: false,
    description: 'Training samples of the generated tasks',
  }),
  testSize: int({
    group: 'task',
    symbol: 'N_test',
    unit: 'samples',
    default: 500,
    min: 1,
    max: 100_000,
    live: false,
    description: 'Test samples of the generated tasks',
  }),
  limit: int({
    group: 'task',
    symbol: 'limit',
    unit: 'samples',
    default: 0,
    min: 0,
    max: 1_000_000,
    live: false,
    description: 'Keep the first N training samples after a seeded shuffle (0 = all)',
  }),
  inputs: int({
    group: 'task',
    symbol: 'm',
    unit: 'units',
    default: 4,
    min: 1,
    max: 1024,
    live: false,
    description: 'Inputs of the pattern and teacher tasks (2-D tasks: 2, MNIST: 784)',
  }),
  outputs: int({
    group: 'task',
    symbol: 'k',
    unit: 'units',
    default: 2,
    min: 1,
    max: 64,
    live: false,
    description: 'Outputs of the pattern and teacher tasks (classification: one per class)',
  }),
  topology: choice({
    group: 'network',
    symbol: 'topology',
    unit: '',
    default: 'recurrent',
    options: TOPOLOGIES,
    live: false,
    description: 'Recurrent (dense W) or layered (a deep net as an equilibrium system)',
  }),
  readout: choice({
    group: 'network',
    symbol: 'readout',
    unit: '',
    default: 'separate',
    options: READOUTS,
    live: false,
    description:
      'Outputs as a separate population y = Dρ(φ) + d, or as the last k units of the network (y ≡ φ_y, Figure 1)',
  }),
  hidden: int({
    group: 'network',
    symbol: 'n',
    unit: 'units',
    default: 16,
    min: 1,
    max: 4096,
    live: false,
    description: 'Hidden units of the recurrent network',
  }),
  layers: {
    type: 'integer-list',
    group: 'network',
    symbol: 'h₁…h_L',
    unit: 'units',
    default: [16, 16],
    min: 1,
    max: 4096,
    live: false,
    description: 'Sizes of the hidden blocks of the layered network',
  },
  activation: choice({
    group: 'network',
    symbol: 'ρ',
    unit: '',
    default: 'tanh',
    options: ACTIVATIONS,
    live: false,
    description: 'Rate function of the hidden units',
  }),
  gain: num({
    group: 'network',
    symbol: 'g',
    unit: '',
    default: 0.5,
    min: 0,
    max: 10,
    live: false,
    description: 'Initial W ~ N(0, g²/fan-in); g ≳ 1 makes a recurrent net unstable',
  }),
  method: choice({
    group: 'learning',
    symbol: 'method',
    unit: '',
    default: 'lcp',
    options: METHODS,
    live: false,
    description: 'LCP (the local rule at the controlled equilibrium) or RBP (the exact gradient)',
  }),
  controller: choice({
    group: 'controller',
    symbol: 'ψ',
    unit: '',
    default: 'dynamic-inversion',
    options: CONTROLLER_KINDS,
    live: true,
    description: 'How the control of the hidden units is computed',
  }),
  alpha: num({
    group: 'controller',
    symbol: 'α',
    unit: '',
    default: 1,
    min: 0,
    max: 1e4,
    log: true,
    live: true,
    description:
      'Leak of the output integrator: small = strong control (output pinned), large = weak nudge',
  }),
  ki: num({
    group: 'controller',
    symbol: 'k_i',
    unit: '',
    default: 1,
    min: 0,
    max: 100,
    live: true,
    description: 'Integral gain of the output controller',
  }),
  kp: num({
    group: 'controller',
    symbol: 'k_p',
    unit: '',
    default: 0,
    min: 0,
    max: 100,
    live: true,
    description: 'Proportional gain of the output controller',
  }),
  dt: num({
    group: 'solver',
    symbol: 'dt',
    unit: 'τ',
    default: 0.2,
    min: 0,
    minExclusive: true,
    max: 10,
    log: true,
    live: true,
    description: 'Euler integration step of every state',
  }),
  tauPhi: num({
    group: 'solver',
    symbol: 'τ_φ',
    unit: 'τ',
    default: 1,
    min: 0,
    minExclusive: true,
    max: 1e4,
    log: true,
    live: true,
    description: 'Time constant of the hidden units',
  }),
  tauY: num({
    group: 'solver',
    symbol: 'τ_y',
    unit: 'τ',
    default: 1,
    min: 0,
    minExclusive: true,
    max: 1e4,
    log: true,
    live: true,
    description: 'Time constant of the output units',
  }),
  tauU: num({
    group: 'solver',
    symbol: 'τ_u',
    unit: 'τ',
    default: 1,
    min: 0,
    minExclusive: true,
    max: 1e5,
    log: true,
    live: true,
    description: 'Time constant of the output integrator',
  }),
  tauPsi: num({
    group: 'solver',
    symbol: 'τ_ψ',
    unit: 'τ',
    default: 1,
    min: 0,
    minExclusive: true,
    max: 1e4,
    log: true,
    live: true,
    description: 'Time constant of the inversion controller',
  }),
  tol: num({
    group: 'solver',
    symbol: 'tol',
    unit: '/τ',
    default: 1e-6,
    min: 0,
    minExclusive: true,
    max: 1,
    log: true,
    live: true,
    description: 'Relative change per unit time at which a state has settled',
  }),
  maxSteps: int({
    group: 'solver',
    symbol: 'steps',
    unit: 'steps',
    default: 2000,
    min: 1,
    max: 1_000_000,
    live: true,
    description: 'Most Euler steps (or Adam iterations for energy) per solve',
  }),
  energyLr: num({
    group: 'controller',
    symbol: 'η_E',
    unit: '',
    default: 0.01,
    min: 0,
    minExclusive: true,
    max: 1,
    log: true,
    live: true,
    description: 'Adam learning rate on the states (energy controller)',
  }),
  energyStart: choice({
    group: 'controller',
    symbol: 'start',
    unit: '',
    default: 'zero',
    options: ENERGY_STARTS,
    live: true,
    description:
      'Energy minimisation starts from zero (layered) or the free equilibrium (recurrent)',
  }),
  rbpTol: num({
    group: 'solver',
    symbol: 'tol_RBP',
    unit: '/τ',
    default: 1e-4,
    min: 0,
    minExclusive: true,
    max: 1,
    log: true,
    live: true,
    description: 'Tolerance of RBP’s free and adjoint solves',
  }),
  rbpMaxSteps: int({
    group: 'solver',
    symbol: 'steps_RBP',
    unit: 'steps',
    default: 200,
    min: 1,
    max: 1_000_000,
    live: true,
    description: 'Most steps of RBP’s free and adjoint solves',
  }),
  optimizer: choice({
    group: 'learning',
    symbol: 'opt',
    unit: '',
    default: 'adam',
    options: OPTIMIZERS,
    live: true,
    description: 'Optimiser applied to the update (SGD or Adam)',
  }),
  lr: num({
    group: 'learning',
    symbol: 'η',
    unit: '',
    default: 0.01,
    min: 0,
    max: 10,
    log: true,
    live: true,
    description: 'Learning rate',
  }),
  schedule: choice({
    group: 'learning',
    symbol: 'schedule',
    unit: '',
    default: 'constant',
    options: SCHEDULES,
    live: true,
    description: 'Constant rate, or cosine decay to the final rate over the run',
  }),
  lrFinal: num({
    group: 'learning',
    symbol: 'η_end',
    unit: '',
    default: 0.001,
    min: 0,
    max: 10,
    log: true,
    live: true,
    description: 'Final learning rate of the cosine schedule',
  }),
  weightDecay: num({
    group: 'learning',
    symbol: 'λ',
    unit: '',
    default: 0,
    min: 0,
    max: 1,
    live: true,
    description: 'Weight decay (L2, added to the update)',
  }),
  clip: num({
    group: 'learning',
    symbol: 'clip',
    unit: '',
    default: 0,
    min: 0,
    max: 1e6,
    live: true,
    description: 'Clip the update’s norm to this (0 = off)',
  }),
  batch: int({
    group: 'learning',
    symbol: 'B',
    unit: 'samples',
    default: 32,
    min: 1,
    max: 4096,
    live: false,
    description: 'Samples per update (per-sample control, averaged updates)',
  }),
  epochs: int({
    group: 'learning',
    symbol: 'epochs',
    unit: '',
    default: 20,
    min: 1,
    max: 10_000,
    live: true,
    description: 'Passes over the training set',
  }),
  lambdaKP: num({
    group: 'feedback',
    symbol: 'λ_KP',
    unit: '',
    default: 1e-6,
    min: 0,
    max: 1,
    log: true,
    live: true,
    description: 'Kolen–Pollack decay of W, b, D, d, B, F before every update',
  }),
  learnQ: {
    type: 'boolean',
    group: 'feedback',
    symbol: 'learn Q',
    unit: '',
    default: false,
    live: true,
    description: 'Learn the linear feedback Q with the noise-based rule',
  },
  tauQ: num({
    group: 'feedback',
    symbol: 'τ_Q',
    unit: 'τ',
    default: 1e5,
    min: 0,
    minExclusive: true,
    max: 1e9,
    log: true,
    live: true,
    description: 'Time constant of Q learning',
  }),
  lambdaQ: num({
    group: 'feedback',
    symbol: 'λ_Q',
    unit: '',
    default: 0.01,
    min: 0,
    max: 10,
    live: true,
    description: 'Decay of Q learning',
  }),
  noiseSigma: num({
    group: 'feedback',
    symbol: 'σ',
    unit: '',
    default: 0.01,
    min: 0,
    minExclusive: true,
    max: 1,
    log: true,
    live: true,
    description: 'Noise amplitude of the Q-learning phase',
  }),
  noiseTimeScale: num({
    group: 'feedback',
    symbol: 's',
    unit: '',
    default: 5,
    min: 1,
    max: 100,
    live: true,
    description: 'Time-scale factor of the noisy phase (dt′ = dt/s²)',
  }),
  tauEps: num({
    group: 'feedback',
    symbol: 'τ_ε',
    unit: 'τ',
    default: 1,
    min: 0,
    minExclusive: true,
    max: 1e4,
    live: true,
    description: 'Correlation time of the AR(1) noise',
  }),
  noiseSteps: int({
    group: 'feedback',
    symbol: 'steps_ε',
    unit: 'steps',
    default: 800,
    min: 1,
    max: 100_000,
    live: true,
    description: 'Steps of the noisy phase per sample',
  }),
  backend: choice({
    group: 'runtime',
    symbol: 'backend',
    unit: '',
    default: 'auto',
    options: BACKENDS,
    live: false,
    description: 'Compute backend (auto picks by size from a measurement)',
  }),
};

export const CONFIG_KEYS = Object.keys(FIELDS) as ConfigKey[];

function fieldSchema(f: Field): z.ZodType {
  switch (f.type) {
    case 'number':
    case 'integer': {
      let s = z.number();
      if (f.type === 'integer') s = s.int('must be an integer');
      s = f.minExclusive ? s.gt(f.min, `must be > ${f.min}`) : s.gte(f.min, `must be ≥ ${f.min}`);
      return s.lte(f.max, `must be ≤ ${f.max}`);
    }
    case 'enum':
      return z.enum(f.options as [string, ...string[]]);
    case 'boolean':
      return z.boolean();
    case 'integer-list':
      return z
        .array(
          z
            .number()
            .int('must be integers')
            .gte(f.min, `entries must be ≥ ${f.min}`)
            .lte(f.max, `entries must be ≤ ${f.max}`),
        )
        .min(1, 'must have at least one entry');
  }
}

const partialSchema = z.strictObject(
  Object.fromEntries(CONFIG_KEYS.map((k) => [k, fieldSchema(FIELDS[k]).optional()])) as Record<
    string,
    z.ZodType
  >,
);

export function defaultConfig(): TrainConfig {
  return Object.fromEntries(
    CONFIG_KEYS.map((k) => [k, structuredClone(FIELDS[k].default)]),
  ) as unknown as TrainConfig;
}

/**
 * Validate a (partial) configuration object, e.g. a config file; missing fields take `base`'s
 * values (defaults). Throws one InputError naming every bad field.
 */
export function parseConfig(raw: unknown, base: TrainConfig = defaultConfig()): TrainConfig {
  const result = partialSchema.safeParse(raw);
  if (!result.success) throw inputErrorFromZod(result.error);
  const merged = { ...base } as Record<ConfigKey, unknown>;
  for (const [k, v] of Object.entries(result.data)) if (v !== undefined) merged[k as ConfigKey] = v;
  return merged as unknown as TrainConfig;
}

/** A value from text, as a `key=value` override or a URL parameter gives it. */
export function parseFieldText(key: ConfigKey, text: string): unknown {
  const f = FIELDS[key];
  switch (f.type) {
    case 'number':
    case 'integer':
      return text.trim() === '' ? NaN : Number(text);
    case 'boolean':
      return text === 'true' || text === '1'
        ? true
        : text === 'false' || text === '0'
          ? false
          : text;
    case 'integer-list':
      return text.split(/[,x×]/).map((v) => (v.trim() === '' ? NaN : Number(v)));
    case 'enum':
      return text;
  }
}

/** Apply `key=value` overrides; every bad key or value is reported at once. */
export function applyOverrides(config: TrainConfig, overrides: string[]): TrainConfig {
  const raw: Record<string, unknown> = {};
  const issues: { field: string; message: string }[] = [];
  for (const o of overrides) {
    const eq = o.indexOf('=');
    if (eq <= 0) {
      issues.push({ field: o, message: 'expected key=value' });
      continue;
    }
    const key = o.slice(0, eq);
    if (!(key in FIELDS)) {
      issues.push({ field: key, message: 'unknown field' });
      continue;
    }
    raw[key] = parseFieldText(key as ConfigKey, o.slice(eq + 1));
  }
  try {
    const parsed = parseConfig(raw, config);
    if (issues.length) throw new InputError(issues);
    return parsed;
  } catch (e) {
    if (e instanceof InputError && e.issues !== issues)
      throw new InputError([...issues, ...e.issues]);
    throw e;
  }
}

/** The fields whose values differ from `base` (for links and exports). */
export function configDiff(
  config: TrainConfig,
  base: TrainConfig = defaultConfig(),
): Partial<TrainConfig> {
  const out: Partial<Record<ConfigKey, unknown>> = {};
  for (const k of CONFIG_KEYS)
    if (JSON.stringify(config[k]) !== JSON.stringify(base[k])) out[k] = config[k];
  return out as Partial<TrainConfig>;
}

/** Does going from `before` to `after` need a new network or new data (a field that is not live)? */
export function needsRebuild(before: TrainConfig, after: TrainConfig): boolean {
  return CONFIG_KEYS.some(
    (k) => !FIELDS[k].live && JSON.stringify(before[k]) !== JSON.stringify(after[k]),
  );
}
