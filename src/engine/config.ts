import { z } from 'zod';
import {
  ACTIVATIONS,
  CONTROLLER_KINDS,
  READOUTS,
  type Activation,
  type ControllerKind,
  type LossKind,
  type Readout,
} from './kinds';
import { InputError, MAX_REPORTED, type Issue } from './errors';
import { inputErrorFromZod, jsonKind, OMITTED_PARAM } from './validation';

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
export const METHODS = ['lcp', 'rbp', 'ep'] as const;
export const OPTIMIZERS = ['sgd', 'adam'] as const;
export const SCHEDULES = ['constant', 'cosine'] as const;
export const ENERGY_STARTS = ['zero', 'free'] as const;
export const PIXELS = ['standardised', 'raw'] as const;
export const INITS = ['normal', 'torch'] as const;
export const BACKENDS = ['auto', 'webgl', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

export interface TrainConfig {
  seed: number;
  task: TaskName;
  noise: number;
  trainSize: number;
  testSize: number;
  limit: number;
  pixels: (typeof PIXELS)[number];
  inputs: number;
  outputs: number;
  topology: (typeof TOPOLOGIES)[number];
  readout: Readout;
  hidden: number;
  layers: number[];
  activation: Activation;
  gain: number;
  init: (typeof INITS)[number];
  biases: number;
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
  energyPlateau: boolean;
  rbpTol: number;
  rbpMaxSteps: number;
  stopUnsettled: boolean;
  optimizer: (typeof OPTIMIZERS)[number];
  lr: number;
  schedule: (typeof SCHEDULES)[number];
  lrFinal: number;
  weightDecay: number;
  clip: number;
  batch: number;
  epochs: number;
  lambdaKP: number;
  beta: number;
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
  /** Bounds of each entry. */
  min: number;
  max: number;
  /** Most entries. */
  maxEntries: number;
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
  pixels: choice({
    group: 'task',
    symbol: 'pixels',
    unit: '',
    default: 'standardised',
    options: PIXELS,
    live: false,
    description:
      'MNIST inputs: standardised gray levels ((x − 0.1307)/0.3081), or raw in [0, 1] as the paper’s code reads them',
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
    maxEntries: 32,
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
    description: 'Initial W ~ N(0, g²/fan-in) (init normal); g ≳ 1 makes a recurrent net unstable',
  }),
  init: choice({
    group: 'network',
    symbol: 'init',
    unit: '',
    default: 'normal',
    options: INITS,
    live: false,
    description:
      'normal: W ~ N(0, g²/fan-in), U, D ~ N(0, 1/fan-in), biases 0; torch: every weight and bias ~ U(±1/√fan-in), PyTorch’s default (the paper’s code; g unused)',
  }),
  biases: int({
    group: 'network',
    symbol: 'biases',
    unit: '',
    default: 1,
    min: 1,
    max: 2,
    live: false,
    description:
      'Biases per hidden unit: 2 as in the paper’s RNN (on Ux and on Wρ(φ)); both get the same update, so their sum b moves twice as far',
  }),
  method: choice({
    group: 'learning',
    symbol: 'method',
    unit: '',
    default: 'lcp',
    options: METHODS,
    live: false,
    description:
      'LCP (the local rule at the controlled equilibrium), RBP (the exact gradient) or EP (equilibrium propagation: a free and a nudged equilibrium, their difference over β)',
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
  energyPlateau: {
    type: 'boolean',
    group: 'controller',
    symbol: 'halve η_E',
    unit: '',
    default: false,
    live: true,
    description:
      'Halve η_E when ‖∇E‖ stops improving for 100 iterations (off: constant rate, as in the paper’s code)',
  },
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
  stopUnsettled: {
    type: 'boolean',
    group: 'solver',
    symbol: 'stop unsettled',
    unit: '',
    default: true,
    live: true,
    description:
      'Stop (and undo the last update) when a solve after an update ends still moving by > 1e-2 per unit time; off: learn from its last state, as the paper’s code does',
  },
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
  beta: num({
    group: 'learning',
    symbol: 'β',
    unit: '',
    default: 0.1,
    min: 1e-4,
    max: 1,
    log: true,
    live: true,
    description:
      'EP only: the nudge toward the target in the second phase; the update is the change of ρ(φ) between the two equilibria over β (biased by O(β), and by any asymmetry of W)',
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

/** A bounded number (or integer) field's schema, with messages naming the bound it misses. */
export function boundedNumberSchema(f: {
  type: 'number' | 'integer';
  min: number;
  max: number;
  minExclusive?: boolean;
}): z.ZodNumber {
  let s = z.number();
  if (f.type === 'integer') s = s.int('must be an integer');
  s = f.minExclusive ? s.gt(f.min, `must be > ${f.min}`) : s.gte(f.min, `must be ≥ ${f.min}`);
  return s.lte(f.max, `must be ≤ ${f.max}`);
}

function fieldSchema(f: Field): z.ZodType {
  switch (f.type) {
    case 'number':
    case 'integer':
      return boundedNumberSchema(f);
    case 'enum':
      return z.enum(f.options as [string, ...string[]]);
    case 'boolean':
      return z.boolean();
    case 'integer-list':
      return z.custom<number[]>().superRefine((value, ctx) => checkIntegerList(f, value, ctx));
  }
}

/**
 * An integer list without zod's one issue per entry: a list of 10⁶ bad sizes reports its first
 * MAX_REPORTED and a count, and a list longer than `maxEntries` is refused before its entries are
 * looked at.
 */
function checkIntegerList(f: IntegerListField, value: unknown, ctx: z.RefinementCtx): void {
  const issue = (message: string, path: number[] = []) =>
    ctx.addIssue({ code: 'custom', path, message, continue: false });
  if (!Array.isArray(value)) return issue(`expected a list of integers, got ${jsonKind(value)}`);
  if (value.length === 0) return issue('must have at least one entry');
  if (value.length > f.maxEntries)
    return issue(`at most ${f.maxEntries} entries, got ${value.length}`);
  let bad = 0;
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    const problem =
      typeof v !== 'number' || !Number.isFinite(v)
        ? `expected an integer, got ${jsonKind(v)}`
        : !Number.isInteger(v)
          ? 'must be integers'
          : v < f.min
            ? `entries must be ≥ ${f.min}`
            : v > f.max
              ? `entries must be ≤ ${f.max}`
              : null;
    if (problem && bad++ < MAX_REPORTED) issue(problem, [i]);
  }
  if (bad > MAX_REPORTED)
    ctx.addIssue({
      code: 'custom',
      path: [],
      message: `${bad - MAX_REPORTED} more bad entries`,
      params: { [OMITTED_PARAM]: bad - MAX_REPORTED },
      continue: false,
    });
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
 * values (defaults). Then the cross-field rules (crossFieldIssues) judge the merged whole.
 * Throws one InputError naming every bad field.
 */
export function parseConfig(raw: unknown, base: TrainConfig = defaultConfig()): TrainConfig {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw)))
    throw InputError.single('(root)', `expected a JSON object, got ${jsonKind(raw)}`);
  const result = partialSchema.safeParse(raw);
  if (!result.success) throw inputErrorFromZod(result.error);
  const merged = { ...base } as Record<ConfigKey, unknown>;
  for (const [k, v] of Object.entries(result.data)) if (v !== undefined) merged[k as ConfigKey] = v;
  const config = merged as unknown as TrainConfig;
  const issues = crossFieldIssues(config);
  if (issues.length) throw new InputError(issues);
  return config;
}

// ---------------------------------------------------------------------------------------------
// Cross-field rules: values that are each in range but make the computation meaningless or too
// large together. One set, applied by parseConfig (CLI, app, links); the scenario file of `solve`
// applies the same step, tolerance, gain and output rules (scenario.ts).

/** float32's machine epsilon: the relative spacing of float32 numbers near 1. */
export const FLOAT32_EPSILON = 2 ** -23;
/** The largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;
/**
 * The smallest tolerance accepted: the smallest normal float32, 2⁻¹²⁶ ≈ 1.2e-38. A residual
 * computed in float32 is exactly 0 once the state stops changing, so any tolerance below the
 * smallest change a step can make (≈ 2⁻²⁴/dt relative) means "until the float32 state is frozen":
 * a meaningful request that solves often meet (the engine's tests use 1e-9 and 1e-10 that way;
 * when a state cycles instead, the solve says `converged: false`). Below 2⁻¹²⁶ float32 cannot
 * hold the tolerance at all.
 */
export const TOL_MIN = 2 ** -126;
/**
 * The largest input (and target) magnitude accepted: with unit-size weights an input beyond it
 * puts the state beyond the solver's divergence bound (state RMS 1e6) at the first step, and
 * 1e39 is not even a float32.
 */
export const INPUT_LIMIT = 1e6;
/** Most weights (parameters) a configuration may have: 2²⁵ ≈ 3.4e7. */
export const MAX_WEIGHTS = 2 ** 25;
/** Most memory a configuration may need by estimateSize: 3 GiB. */
export const MAX_BYTES = 3 * 2 ** 30;

/** Inputs m, outputs k and loss that each task implies (tasks/*.ts; tests/unit/config.test.ts checks them). */
export function taskSizes(config: Pick<TrainConfig, 'task' | 'inputs' | 'outputs'>): {
  m: number;
  k: number;
  loss: LossKind;
} {
  switch (config.task) {
    case 'circle':
    case 'xor':
    case 'spiral':
    case 'gaussians':
      return { m: 2, k: 2, loss: 'cross-entropy' };
    case 'mnist':
      return { m: 784, k: 10, loss: 'cross-entropy' };
    case 'pattern':
    case 'teacher':
      return { m: config.inputs, k: config.outputs, loss: 'mse' };
  }
}

/** MNIST's training and test samples (the generated file) for the data estimate. */
const MNIST_SPLIT = [8004, 1996] as const;
/**
 * float32 copies of each weight at the peak of a training step, measured in Node on the WASM
 * backend (peak RSS at n = 512, 1024, 2048, Adam: ≈ 100 bytes per weight beyond the runtime's
 * ≈ 160 MB): the weight, the LCP update, −∇L for the cosine metric, the applied step and the
 * optimiser's and clipping's temporaries, plus Adam's two moments.
 */
const COPIES_PER_WEIGHT = { sgd: 23, adam: 25 } as const;
/** Evaluation runs in batches of 256 (trainer.evaluate). */
const EVAL_BATCH = 256;
/** Per-sample state vectors alive at once: φ, ψ, y, u_I, the next step's, the drive, Adam's on the states (energy). */
const STATE_COPIES = 8;

export interface SizeEstimate {
  /** Hidden units n (the sum of `layers` for the layered topology). */
  units: number;
  /** Inputs m and outputs k of the task. */
  inputs: number;
  outputs: number;
  /** Parameters: W, U, b, D, d and the controller's Q or B, F. */
  weights: number;
  /** Estimated memory in bytes (the runtime itself, ≈ 160 MB in Node, not included). */
  bytes: number;
  parts: { weights: number; masks: number; states: number; data: number };
}

/**
 * The sizes a configuration implies and the memory it needs: W n×n, U n×m, b n, D k×n and d k
 * (not with `readout: units`), Q n×k (linear-feedback), B n×n and F n×k (dynamic-inversion-kp);
 * 0/1 masks of W, U, D for the layered topology; per-batch states; the data set.
 */
export function estimateSize(config: TrainConfig): SizeEstimate {
  const n =
    config.topology === 'layered' ? config.layers.reduce((a, b) => a + b, 0) : config.hidden;
  const { m, k } = taskSizes(config);
  const separate = config.readout === 'separate';
  let weights = n * n + n * m + n + (separate ? k * n + k : 0);
  if (config.controller === 'linear-feedback') weights += n * k;
  if (config.controller === 'dynamic-inversion-kp') weights += n * n + n * k;
  const masks = config.topology === 'layered' ? n * n + n * m + (separate ? k * n : 0) : 0;
  const batch = Math.max(config.batch, EVAL_BATCH);
  const states = batch * (2 * n + 2 * k + m) * STATE_COPIES;
  const [train, test] =
    config.task === 'mnist'
      ? MNIST_SPLIT
      : config.task === 'pattern'
        ? [1, 0]
        : [config.trainSize, config.testSize];
  // The samples, and a copy of the ones `limit` keeps.
  const kept = config.limit > 0 && config.limit < train ? config.limit : 0;
  const data = (train + test + kept) * (m + k);
  const parts = {
    weights: 4 * weights * COPIES_PER_WEIGHT[config.optimizer],
    masks: 4 * masks,
    states: 4 * states,
    data: 4 * data,
  };
  return {
    units: n,
    inputs: m,
    outputs: k,
    weights,
    bytes: parts.weights + parts.masks + parts.states + parts.data,
    parts,
  };
}

/** A refusal: the fields that can fix it (the first few are named) and why. */
export interface RuleIssue {
  /** Every field that can fix it: fieldIssues(config, key) reports it for each. */
  keys: ConfigKey[];
  /** How many of `keys`, from the first, the refusal names (default 1). */
  named?: number;
  message: string;
}

/** A short number for messages: 0.0123, 1e-300, 3.4e7. */
export function formatNumber(v: number): string {
  if (v === 0 || !Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e5) return String(Number(v.toPrecision(3)));
  return v.toExponential(1).replace('e+', 'e').replace('.0e', 'e');
}

function bytesText(b: number): string {
  return b >= 2 ** 30 ? `${Number((b / 2 ** 30).toFixed(2))} GiB` : `${Math.ceil(b / 2 ** 20)} MiB`;
}

const TAU_STATES = [
  ['tauPhi', 'τ_φ', 'φ'],
  ['tauY', 'τ_y', 'y'],
  ['tauU', 'τ_u', 'u_I'],
  ['tauPsi', 'τ_ψ', 'ψ'],
] as const;
type TauKey = (typeof TAU_STATES)[number][0];

/**
 * Euler's step of every block must be resolvable: x ← x + (dt/τ)(…) leaves a unit-size state
 * unchanged when dt/τ < 2⁻²³, and the solve then "converges" where it started (dt = 1e-300 did,
 * at the zero state). Every time constant counts, used by the current controller or not: the
 * controller can be switched while the app runs.
 */
export function stepRules(
  s: { dt: number } & Record<TauKey, number>,
  label: (key: ConfigKey) => string = (key) => key,
): RuleIssue[] {
  const slow = TAU_STATES.filter(([key]) => s.dt / s[key] < FLOAT32_EPSILON);
  if (!slow.length) return [];
  const ratios = slow.map(([key]) => s.dt / s[key]);
  const symbols = slow.map(([, sym]) => sym).join(', ');
  const shown = ratios.every((r) => r === ratios[0])
    ? `dt/τ = ${formatNumber(ratios[0])} (${symbols}) is`
    : `${slow.map(([, sym], i) => `dt/${sym} = ${formatNumber(ratios[i])}`).join(', ')} are`;
  const keys = slow.map(([key]) => key);
  return [
    {
      keys: ['dt', ...keys],
      named: 1 + keys.length,
      message: `${shown} below float32 resolution (2⁻²³ ≈ 1.2e-7): a unit-size ${slow.map(([, , x]) => x).join(', ')} cannot change in one step (the solve would stop where it started); raise ${label('dt')} or lower ${keys.map(label).join(', ')}`,
    },
  ];
}

/** A stopping tolerance that float32 can hold (TOL_MIN). */
export function toleranceRule(key: 'tol' | 'rbpTol', tol: number): RuleIssue[] {
  return tol < TOL_MIN
    ? [
        {
          keys: [key],
          message: `${formatNumber(tol)} is below the smallest normal float32 (2⁻¹²⁶ ≈ 1.2e-38), which no float32 residual can be compared with; any tolerance below ≈ 1e-7 already means "until the state stops changing"`,
        },
      ]
    : [];
}

/**
 * The output controller must act: with k_i = k_p = 0 the control u is zero, so ψ* = 0 and LCP
 * learns nothing (silently, before). `energy` weighs the loss by k_i/α: it needs α > 0 (α = 0
 * threw deep in the engine) and k_i > 0 (k_i = 0 learned nothing). `controls`: the run uses the
 * controller (method lcp; scenario files always do).
 */
export function gainRules(
  s: { controller: ControllerKind; alpha: number; ki: number; kp: number },
  controls: boolean,
): RuleIssue[] {
  const out: RuleIssue[] = [];
  if (s.controller === 'energy') {
    if (!(s.alpha > 0))
      out.push({
        keys: ['alpha', 'controller'],
        message: 'must be > 0 for energy (its energy weighs the loss by k_i/α)',
      });
    if (!(s.ki > 0))
      out.push({
        keys: ['ki', 'controller'],
        message: 'must be > 0 for energy (with k_i = 0 the loss has no weight: nothing is learned)',
      });
  } else if (controls && s.ki === 0 && s.kp === 0) {
    out.push({
      keys: ['ki', 'kp'],
      named: 2,
      message:
        'k_i = 0 and k_p = 0 give no control at all (u = 0, so ψ* = 0 and LCP learns nothing); set k_i or k_p > 0',
    });
  }
  return out;
}

/** Cross-entropy is a softmax over the outputs: one output has nothing to compete with. */
export function outputsRule(loss: LossKind, k: number, keys: ConfigKey[]): RuleIssue[] {
  return loss === 'cross-entropy' && k < 2
    ? [
        {
          keys,
          message: `cross-entropy needs at least 2 outputs (a softmax over classes), got ${k}`,
        },
      ]
    : [];
}

/** The total-size bounds (MAX_WEIGHTS, MAX_BYTES), naming the field that dominates. */
function sizeRules(c: TrainConfig): RuleIssue[] {
  const est = estimateSize(c);
  const sizeKey: ConfigKey = c.topology === 'layered' ? 'layers' : 'hidden';
  const shapeKeys: ConfigKey[] =
    c.task === 'pattern' || c.task === 'teacher' ? ['inputs', 'outputs'] : [];
  const out: RuleIssue[] = [];
  const units =
    c.topology === 'layered'
      ? c.layers.every((l) => l === c.layers[0])
        ? `${c.layers.length} × ${c.layers[0]} units`
        : `${c.layers.length} layers of ${est.units} units in all`
      : `${est.units} units`;
  if (est.weights > MAX_WEIGHTS) {
    const extra =
      c.controller === 'dynamic-inversion-kp'
        ? " with dynamic-inversion-kp's B and F"
        : c.controller === 'linear-feedback'
          ? " with linear-feedback's Q"
          : '';
    out.push({
      keys: [sizeKey, 'controller', 'topology', 'task', ...shapeKeys],
      message: `${units}${extra} need ${formatNumber(est.weights)} weights; at most ${formatNumber(MAX_WEIGHTS)} (2²⁵)`,
    });
  } else if (est.bytes > MAX_BYTES) {
    const p = est.parts;
    const largest: ConfigKey[] =
      p.states >= p.weights && p.states >= p.data
        ? ['batch']
        : p.data >= p.weights
          ? ['trainSize', 'testSize']
          : [sizeKey];
    // Named: the largest part's field; fixable by any field that contributes.
    const contributors: ConfigKey[] = [
      sizeKey,
      'batch',
      'trainSize',
      'testSize',
      'limit',
      'optimizer',
      'controller',
      'readout',
      'topology',
      'task',
      ...shapeKeys,
    ];
    out.push({
      keys: [...largest, ...contributors.filter((key) => !largest.includes(key))],
      message: `needs about ${bytesText(est.bytes)} (${units}: weights and their working copies ${bytesText(p.weights + p.masks)}, batch states ${bytesText(p.states)}, data ${bytesText(p.data)}); at most ${bytesText(MAX_BYTES)}`,
    });
  }
  return out;
}

/** With `readout: units` the outputs are the last k units of the network (of its last layer). */
function readoutRules(c: TrainConfig): RuleIssue[] {
  if (c.readout !== 'units') return [];
  const { k } = taskSizes(c);
  const last = c.topology === 'layered' ? c.layers[c.layers.length - 1] : c.hidden;
  if (last >= k) return [];
  const where = c.topology === 'layered' ? ' of the last layer' : '';
  return [
    {
      keys: ['readout', c.topology === 'layered' ? 'layers' : 'hidden', 'outputs', 'task'],
      message: `units puts the ${k} outputs on the last ${k} units${where}, but there are only ${last}`,
    },
  ];
}

/**
 * The noisy phase of Q learning integrates y and u_I with dt′ = dt/s² and the noise with
 * (s/τ_ε)·dt′ (DESIGN.md §1): those steps must be resolvable too.
 */
function noisePhaseRules(c: TrainConfig): RuleIssue[] {
  if (!(c.learnQ && c.controller === 'linear-feedback' && c.method === 'lcp')) return [];
  const s2 = c.noiseTimeScale ** 2;
  const steps: [ConfigKey, string, number][] = [
    ['tauY', 'dt/(s²·τ_y)', c.dt / (s2 * c.tauY)],
    ['tauU', 'dt/(s²·τ_u)', c.dt / (s2 * c.tauU)],
    ['tauEps', 'dt/(s·τ_ε)', c.dt / (c.noiseTimeScale * c.tauEps)],
  ];
  const slow = steps.filter(([, , r]) => r < FLOAT32_EPSILON);
  if (!slow.length) return [];
  return [
    {
      keys: ['noiseTimeScale', 'dt', ...slow.map(([key]) => key)],
      named: 2 + slow.length,
      message: `the noisy phase's ${slow.map(([, sym, r]) => `${sym} = ${formatNumber(r)}`).join(', ')} ${slow.length === 1 ? 'is' : 'are'} below float32 resolution (2⁻²³ ≈ 1.2e-7): its states cannot change; lower noiseTimeScale or raise dt`,
    },
  ];
}

/** EP's nudge acts through the readout D (output units joined symmetrically to the hidden ones). */
function methodRules(c: TrainConfig): RuleIssue[] {
  if (c.method !== 'ep' || c.readout !== 'units') return [];
  return [
    {
      keys: ['method', 'readout'],
      named: 2,
      message:
        'EP nudges the outputs through the readout D (Dᵀ carries the nudge back); with readout units there is no D: choose readout separate, or method lcp or rbp',
    },
  ];
}

/** Every cross-field rule's refusal of a configuration whose fields are each in range. */
export function ruleIssues(c: TrainConfig): RuleIssue[] {
  const { k, loss } = taskSizes(c);
  return [
    ...stepRules(c),
    ...noisePhaseRules(c),
    ...toleranceRule('tol', c.tol),
    ...toleranceRule('rbpTol', c.rbpTol),
    ...gainRules(c, c.method === 'lcp'),
    ...outputsRule(loss, k, ['outputs', 'task']),
    ...readoutRules(c),
    ...methodRules(c),
    ...sizeRules(c),
  ];
}

/** The fields a refusal names: the first `named` of its keys (default 1). */
function named(issue: RuleIssue): string {
  return issue.keys.slice(0, issue.named ?? 1).join(', ');
}

/** The cross-field rules' refusals as InputError issues (field, message). */
export function crossFieldIssues(c: TrainConfig): Issue[] {
  return ruleIssues(c).map((issue) => ({ field: named(issue), message: issue.message }));
}

/**
 * Why a whole configuration (e.g. the app's, after one edit) refuses `key`'s value: the field's
 * own type and range, then every cross-field rule whose fix involves `key` (the rules are judged
 * only when every field is in range). [] = accepted.
 */
export function fieldIssues(config: TrainConfig, key: ConfigKey): string[] {
  if (!Object.hasOwn(FIELDS, key)) return ['unknown field'];
  const own = fieldSchema(FIELDS[key]).safeParse(config[key]);
  if (!own.success) return inputErrorFromZod(own.error).issues.map((i) => i.message);
  if (!partialSchema.safeParse(config).success) return [];
  return ruleIssues(config)
    .filter((issue) => issue.keys.includes(key))
    .map((issue) => `${named(issue)}: ${issue.message}`);
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

/**
 * `key=value` overrides as raw field values (each still to be validated by parseConfig) and the
 * problems of the overrides themselves: no `=`, an unknown key. Own keys only: `__proto__`,
 * `constructor` or `toString` are not fields. At most MAX_REPORTED problems are kept, the rest
 * counted.
 */
export function parseOverrides(overrides: string[]): {
  values: Partial<Record<ConfigKey, unknown>>;
  issues: Issue[];
  omitted: number;
} {
  const values: Partial<Record<ConfigKey, unknown>> = {};
  const issues: Issue[] = [];
  let omitted = 0;
  const problem = (field: string, message: string) => {
    if (issues.length < MAX_REPORTED) issues.push({ field, message });
    else omitted++;
  };
  for (const o of overrides) {
    const eq = o.indexOf('=');
    const key = o.slice(0, eq);
    if (eq <= 0) problem(o, 'expected key=value');
    else if (!Object.hasOwn(FIELDS, key)) problem(key, 'unknown field');
    else values[key as ConfigKey] = parseFieldText(key as ConfigKey, o.slice(eq + 1));
  }
  return { values, issues, omitted };
}

/** Apply `key=value` overrides; every bad key or value is reported at once. */
export function applyOverrides(config: TrainConfig, overrides: string[]): TrainConfig {
  const { values, issues, omitted } = parseOverrides(overrides);
  let parsed: TrainConfig;
  try {
    parsed = parseConfig(values, config);
  } catch (e) {
    if (e instanceof InputError)
      throw new InputError([...issues, ...e.issues], omitted + e.omitted);
    throw e;
  }
  if (issues.length) throw new InputError(issues, omitted);
  return parsed;
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
