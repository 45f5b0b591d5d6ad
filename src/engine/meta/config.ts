/**
 * The configuration of the meta-learning system (issue 14): few-shot sinusoid regression whose
 * fast weights w adapt to a task by the gradient flow ẇ = −∇L_support(w) − λ(w − ω), and whose
 * slow weights ω learn across tasks. A leaf (zod, no TensorFlow.js), like ../config.ts: the CLI,
 * the page's main thread and the chapter read it. Every field has a symbol, range, default and
 * a one-line description; docs/cli.md's meta table is generated from META_FIELDS.
 */
import { z } from 'zod';
import { boundedNumberSchema } from '../config';
import { InputError, type Issue } from '../errors';
import { inputErrorFromZod, jsonKind } from '../validation';

/** How ω learns: the least-control rule, the implicit gradient (iMAML), or first order. */
export const META_METHODS = ['lcp', 'imaml', 'fo'] as const;
export type MetaMethod = (typeof META_METHODS)[number];

/** How LCP finds its controlled equilibrium (DESIGN.md §1's two controllers, here on w). */
export const META_CONTROLLERS = ['dynamic-inversion', 'energy'] as const;
export type MetaController = (typeof META_CONTROLLERS)[number];

export interface MetaConfig {
  seed: number;
  method: MetaMethod;
  controller: MetaController;
  hidden: number;
  shots: number;
  queries: number;
  lambda: number;
  alpha: number;
  innerLr: number;
  momentum: number;
  innerSteps: number;
  tol: number;
  controlLr: number;
  controlSteps: number;
  cgSteps: number;
  metaBatch: number;
  metaLr: number;
  metaEpochs: number;
  iterations: number;
  testTasks: number;
}

export type MetaKey = keyof MetaConfig;

interface BaseMetaField {
  symbol: string;
  description: string;
}
export interface MetaNumberField extends BaseMetaField {
  type: 'number' | 'integer';
  default: number;
  min: number;
  max: number;
  minExclusive?: boolean;
}
export interface MetaEnumField extends BaseMetaField {
  type: 'enum';
  default: string;
  options: readonly string[];
}
export type MetaField = MetaNumberField | MetaEnumField;

const int = (f: Omit<MetaNumberField, 'type'>): MetaNumberField => ({ type: 'integer', ...f });
const num = (f: Omit<MetaNumberField, 'type'>): MetaNumberField => ({ type: 'number', ...f });

export const META_FIELDS: Record<MetaKey, MetaField> = {
  seed: int({
    symbol: 'seed',
    default: 1,
    min: 0,
    max: 2 ** 31 - 1,
    description: 'One seed for ω’s initialisation, the tasks and their order (separate streams)',
  }),
  method: {
    type: 'enum',
    symbol: 'method',
    default: 'lcp',
    options: META_METHODS,
    description:
      'lcp: Δω = λψ* at the controlled equilibrium; imaml: −λ(H + λI)⁻¹∇L_query by conjugate gradients; fo: −∇L_query at the adapted w',
  },
  controller: {
    type: 'enum',
    symbol: 'ψ',
    default: 'dynamic-inversion',
    options: META_CONTROLLERS,
    description:
      'LCP’s controller: dynamic inversion (ẇ = f + ψ, ψ̇ = J_fᵀψ − ∇L_query/α) or Adam on E = ½‖f‖² + L_query/α',
  },
  hidden: int({
    symbol: 'n',
    default: 40,
    min: 1,
    max: 256,
    description: 'Units of each of the two tanh layers of the 1-n-n-1 regression network',
  }),
  shots: int({
    symbol: 'K',
    default: 10,
    min: 1,
    max: 1000,
    description: 'Support points per task (K-shot): what w adapts to',
  }),
  queries: int({
    symbol: 'K_q',
    default: 10,
    min: 1,
    max: 1000,
    description: 'Query points per task: the loss at the adapted w',
  }),
  lambda: num({
    symbol: 'λ',
    default: 1,
    min: 0,
    minExclusive: true,
    max: 1000,
    description: 'Strength of the pull of w toward ω (the complex synapse’s coupling)',
  }),
  alpha: num({
    symbol: 'α',
    default: 10,
    min: 0,
    minExclusive: true,
    max: 1e6,
    description:
      'Control strength: E = ½‖f‖² + L_query/α (large α: weak control, Δω → the implicit gradient / α)',
  }),
  innerLr: num({
    symbol: 'dt',
    default: 0.02,
    min: 0,
    minExclusive: true,
    max: 10,
    description: 'Euler step of the fast weights’ flow (and of dynamic inversion)',
  }),
  momentum: num({
    symbol: 'β',
    default: 0.9,
    min: 0,
    max: 0.999,
    description:
      'Heavy-ball momentum of the free adaptation (0: plain Euler); the equilibrium is the same',
  }),
  innerSteps: int({
    symbol: 'steps',
    default: 100,
    min: 1,
    max: 100_000,
    description: 'Most steps of the free adaptation (the same for every method and for the test)',
  }),
  tol: num({
    symbol: 'tol',
    default: 1e-4,
    min: 0,
    minExclusive: true,
    max: 1,
    description: 'The adaptation stops early when ‖f‖ ≤ tol·‖∇L_support(ω)‖ for every task',
  }),
  controlLr: num({
    symbol: 'η_ψ',
    default: 0.01,
    min: 0,
    minExclusive: true,
    max: 10,
    description: 'Energy controller: Adam’s rate on w (dynamic inversion uses dt)',
  }),
  controlSteps: int({
    symbol: 'steps_ψ',
    default: 100,
    min: 1,
    max: 100_000,
    description: 'Steps of the controlled solve (LCP), from the free equilibrium',
  }),
  cgSteps: int({
    symbol: 'steps_CG',
    default: 10,
    min: 1,
    max: 10_000,
    description: 'Conjugate-gradient steps of the implicit gradient (imaml)',
  }),
  metaBatch: int({
    symbol: 'B',
    default: 10,
    min: 1,
    max: 1000,
    description: 'Tasks per meta-update',
  }),
  metaLr: num({
    symbol: 'η',
    default: 1e-3,
    min: 0,
    max: 10,
    description: 'Adam’s learning rate on ω',
  }),
  metaEpochs: int({
    symbol: 'epochs',
    default: 20,
    min: 1,
    max: 100_000,
    description: 'Meta-epochs (one JSON line each)',
  }),
  iterations: int({
    symbol: 'iters',
    default: 25,
    min: 1,
    max: 1_000_000,
    description: 'Meta-updates per meta-epoch',
  }),
  testTasks: int({
    symbol: 'N_test',
    default: 100,
    min: 1,
    max: 10_000,
    description: 'Meta-test tasks (fixed by the seed), adapted from ω after every meta-epoch',
  }),
};

export const META_KEYS = Object.keys(META_FIELDS) as MetaKey[];

function fieldSchema(f: MetaField): z.ZodType {
  if (f.type === 'enum') return z.enum(f.options as [string, ...string[]]);
  return boundedNumberSchema(f);
}

const partialMetaSchema = z.strictObject(
  Object.fromEntries(META_KEYS.map((k) => [k, fieldSchema(META_FIELDS[k]).optional()])),
);

export function defaultMetaConfig(): MetaConfig {
  return Object.fromEntries(
    META_KEYS.map((k) => [k, META_FIELDS[k].default]),
  ) as unknown as MetaConfig;
}

/**
 * A configuration from `raw` (a JSON object of fields) over `base`; throws InputError naming
 * every bad field.
 */
export function parseMetaConfig(raw: unknown, base: MetaConfig = defaultMetaConfig()): MetaConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw InputError.single('(root)', `expected an object of fields, got ${jsonKind(raw)}`);
  const r = partialMetaSchema.safeParse(raw);
  if (!r.success) throw inputErrorFromZod(r.error);
  const out = { ...base, ...(r.data as Partial<MetaConfig>) };
  const issues: Issue[] = [];
  // Euler on the fast weights is stable only while dt·λ < 2 (and dt·(λ + ‖H‖) < 2 in general).
  if (out.innerLr * out.lambda >= 2)
    issues.push({
      field: 'innerLr, lambda',
      message: `dt·λ = ${out.innerLr * out.lambda} ≥ 2: the fast weights' Euler steps would diverge`,
    });
  if (issues.length) throw new InputError(issues);
  return out;
}

/** `key=value` overrides of a meta configuration (numbers or enum names). */
export function parseMetaOverrides(overrides: string[]): {
  values: Record<string, unknown>;
  issues: Issue[];
} {
  const values: Record<string, unknown> = {};
  const issues: Issue[] = [];
  for (const o of overrides) {
    const eq = o.indexOf('=');
    if (eq <= 0) {
      issues.push({ field: o.slice(0, 60) || '(empty)', message: 'expected key=value' });
      continue;
    }
    const key = o.slice(0, eq);
    const text = o.slice(eq + 1);
    const field = (META_FIELDS as Record<string, MetaField | undefined>)[key];
    if (!Object.hasOwn(META_FIELDS, key) || !field) {
      issues.push({
        field: key.slice(0, 60),
        message: `unknown field (fields: ${META_KEYS.join(', ')})`,
      });
      continue;
    }
    if (field.type === 'enum') values[key] = text;
    else {
      const v = text.trim() === '' ? NaN : Number(text);
      if (!Number.isFinite(v))
        issues.push({ field: key, message: `expected a number, got "${text.slice(0, 40)}"` });
      else values[key] = v;
    }
  }
  return { values, issues };
}
