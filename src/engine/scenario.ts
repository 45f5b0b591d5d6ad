import { z } from 'zod';
import { ACTIVATIONS } from './activations';
import { READOUTS, type Readout } from './kinds';
import { rbpGradient } from './baselines';
import {
  CONTROLLER_KINDS,
  disposeState,
  presentation,
  zeroState,
  type ControllerSettings,
} from './dynamics';
import { energyRelax } from './energy';
import {
  FIELDS,
  FLOAT32_MAX,
  formatNumber,
  gainRules,
  INPUT_LIMIT,
  outputsRule,
  stepRules,
  toleranceRule,
  type ConfigKey,
  type RuleIssue,
} from './config';
import { InputError } from './errors';
import { controlsAt, disposeParamSet, lcpUpdate, type ParamSet } from './learning';
import { LOSSES, lossPerSample } from './losses';
import { disposeNetwork, networkFromArrays, NETWORK_PARAMS, type NetworkParamName } from './model';
import { relax, type SolverSettings } from './solver';
import { tf, type Tensor } from './tf';
import { inputErrorFromZod, jsonKind, numericArray, type EntryCheck } from './validation';

/**
 * The scenario file of DESIGN.md §2: one sample with explicit parameters, so that any
 * implementation of the equations can be checked against this one. Arrays are checked entry by
 * entry with at most MAX_REPORTED problems each (validation.ts), every number must be a float32
 * (|v| ≤ FLOAT32_MAX: beyond it the engine would compute with Infinity), inputs and targets
 * within INPUT_LIMIT; then the same step, tolerance, gain and output rules as the configuration
 * schema (config.ts).
 */
const inFloat32: EntryCheck = (v) =>
  Math.abs(v) > FLOAT32_MAX ? `beyond float32's range (±${formatNumber(FLOAT32_MAX)})` : null;
const withinInputLimit: EntryCheck = (v) =>
  Math.abs(v) > INPUT_LIMIT
    ? `magnitude ${formatNumber(Math.abs(v))} exceeds ${formatNumber(INPUT_LIMIT)} (INPUT_LIMIT: the state would overflow at the first step)`
    : null;
/** The configuration's bound: a solve must end in reasonable time. */
const MAX_STEPS = FIELDS.maxSteps.type === 'integer' ? FIELDS.maxSteps.max : 1_000_000;
const vector = numericArray(1, inFloat32);
const matrix = numericArray(2, inFloat32);
const targetVector = numericArray(1, withinInputLimit);

/** A vector (mse) or a class index (cross-entropy); which one the loss needs is checkShapes'. */
function checkTarget(v: unknown, ctx: z.RefinementCtx) {
  if (typeof v === 'number') {
    if (!Number.isInteger(v))
      ctx.addIssue({ code: 'custom', message: 'must be an integer class index', continue: false });
    return;
  }
  if (!Array.isArray(v)) {
    ctx.addIssue({
      code: 'custom',
      message: `${v === undefined ? 'missing' : `got ${jsonKind(v)}`} (expected a vector, or a class index for cross-entropy)`,
      continue: false,
    });
    return;
  }
  const result = targetVector.safeParse(v);
  if (!result.success)
    for (const issue of result.error.issues)
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message, continue: false });
}
const scalar = z.number().refine((v) => Math.abs(v) <= FLOAT32_MAX, "beyond float32's range");
const positive = scalar.refine((v) => v > 0, 'must be > 0');

const structure = z
  .object({
    model: z.strictObject({
      activation: z.enum(ACTIVATIONS).default('tanh'),
      readout: z.enum(READOUTS).default('separate'),
      W: matrix,
      U: matrix,
      b: vector,
      D: matrix.optional(),
      d: vector.optional(),
      outputs: z.number().int('must be an integer').gte(1, 'must be ≥ 1').optional(),
      Q: matrix.optional(),
      B: matrix.optional(),
      F: matrix.optional(),
      mask: matrix.optional(),
      maskU: matrix.optional(),
      maskD: matrix.optional(),
    }),
    loss: z.enum(LOSSES),
    x: numericArray(1, withinInputLimit),
    target: z.custom<number[] | number>().superRefine(checkTarget),
    controller: z.strictObject({
      kind: z.enum(CONTROLLER_KINDS),
      alpha: scalar.refine((v) => v >= 0, 'must be ≥ 0'),
      ki: scalar.refine((v) => v >= 0, 'must be ≥ 0').default(1),
      kp: scalar.refine((v) => v >= 0, 'must be ≥ 0').default(0),
      tauPhi: positive.default(1),
      tauY: positive.default(1),
      tauU: positive.default(1),
      tauPsi: positive.default(1),
      lr: positive.default(0.01),
      plateau: z.boolean().default(false),
    }),
    solver: z
      .strictObject({
        dt: positive.default(0.2),
        tol: positive.default(1e-6),
        maxSteps: z
          .number()
          .int('must be an integer')
          .gte(1, 'must be ≥ 1')
          .lte(MAX_STEPS, `must be ≤ ${MAX_STEPS}`)
          .default(100_000),
      })
      .default({ dt: 0.2, tol: 1e-6, maxSteps: 100_000 }),
  })
  .strict();

export type Scenario = z.infer<typeof structure>;

const scenarioSchema = structure.superRefine(checkShapes).superRefine(checkRules);

type RefineContext = z.RefinementCtx;

/** Shapes follow from b (n), d (k) and x (m); every matrix is checked against them. */
function checkShapes(
  s: {
    model: Scenario['model'];
    loss: Scenario['loss'];
    x: number[];
    target: number[] | number;
    controller: Scenario['controller'];
  },
  ctx: RefineContext,
) {
  const n = s.model.b.length;
  const k = outputCount(s);
  const m = s.x.length;
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path, message });
  if (n === 0) issue(['model', 'b'], 'expected at least one hidden unit');
  if (s.model.readout === 'units') {
    // The outputs are the last k units: there is no readout population to give.
    for (const key of ['D', 'd', 'maskD'] as const)
      if (s.model[key]) issue(['model', key], 'not used with readout "units" (remove it)');
    if (s.loss === 'cross-entropy' && s.model.outputs === undefined)
      issue(
        ['model', 'outputs'],
        'missing (readout "units" with cross-entropy needs the number of outputs)',
      );
    if (k > n) issue(['model', 'outputs'], `expected at most ${n} outputs (the last k of n units)`);
  } else {
    if (!s.model.D) issue(['model', 'D'], 'missing (expected a k×n matrix)');
    if (!s.model.d) issue(['model', 'd'], 'missing (expected a vector of k outputs)');
    else if (k === 0) issue(['model', 'd'], 'expected at least one output');
    if (s.model.outputs !== undefined && s.model.outputs !== k)
      issue(['model', 'outputs'], `expected ${k} (the length of d) or nothing`);
  }
  if (k === 0 && s.model.readout === 'units') issue(['target'], 'expected at least one output');
  const expectMatrix = (
    path: (string | number)[],
    value: number[][] | undefined,
    rows: number,
    cols: number,
    what: string,
  ) => {
    if (!value) return;
    const got = `${value.length}×${value[0]?.length ?? 0}`;
    if (value.length !== rows || value.some((row) => row.length !== cols)) {
      issue(
        path,
        `expected a ${rows}×${cols} matrix (${what}), got ${value.every((r) => r.length === value[0]?.length) ? got : 'ragged rows'}`,
      );
    }
  };
  const expectMask = (path: (string | number)[], value: number[][] | undefined) => {
    if (value?.some((row) => row.some((v) => v !== 0 && v !== 1)))
      issue(path, 'expected 0/1 entries');
  };
  expectMatrix(['model', 'W'], s.model.W, n, n, 'n×n');
  expectMatrix(['model', 'U'], s.model.U, n, m, 'n×m, m = length of x');
  expectMatrix(['model', 'D'], s.model.D, k, n, 'k×n');
  expectMatrix(['model', 'Q'], s.model.Q, n, k, 'n×k');
  expectMatrix(['model', 'B'], s.model.B, n, n, 'n×n');
  expectMatrix(['model', 'F'], s.model.F, n, k, 'n×k');
  expectMatrix(['model', 'mask'], s.model.mask, n, n, 'like W');
  expectMatrix(['model', 'maskU'], s.model.maskU, n, m, 'like U');
  expectMatrix(['model', 'maskD'], s.model.maskD, k, n, 'like D');
  expectMask(['model', 'mask'], s.model.mask);
  expectMask(['model', 'maskU'], s.model.maskU);
  expectMask(['model', 'maskD'], s.model.maskD);
  if (s.loss === 'mse') {
    if (!Array.isArray(s.target) || s.target.length !== k)
      issue(['target'], `expected a vector of length ${k} (k outputs) for mse`);
  } else if (typeof s.target !== 'number' || s.target < 0 || s.target >= k) {
    issue(['target'], `expected a class index in 0…${k - 1} for cross-entropy`);
  }
  const kind = s.controller.kind;
  if (kind === 'linear-feedback' && !s.model.Q)
    issue(['model', 'Q'], 'missing (linear-feedback needs Q, n×k)');
  if (kind === 'dynamic-inversion-kp') {
    if (!s.model.B) issue(['model', 'B'], 'missing (dynamic-inversion-kp needs B, n×n)');
    if (!s.model.F) issue(['model', 'F'], 'missing (dynamic-inversion-kp needs F, n×k)');
  }
}

/** Where a rule's configuration key lives in a scenario file. */
const SCENARIO_PATHS: Partial<Record<ConfigKey, string[]>> = {
  dt: ['solver', 'dt'],
  tol: ['solver', 'tol'],
  tauPhi: ['controller', 'tauPhi'],
  tauY: ['controller', 'tauY'],
  tauU: ['controller', 'tauU'],
  tauPsi: ['controller', 'tauPsi'],
  alpha: ['controller', 'alpha'],
  ki: ['controller', 'ki'],
  kp: ['controller', 'kp'],
  controller: ['controller', 'kind'],
};

/**
 * The configuration schema's cross-field rules (config.ts) on the scenario's values: Euler steps
 * float32 resolves, a resolvable tolerance, gains that control, at least 2 outputs for
 * cross-entropy.
 */
function checkRules(s: Scenario, ctx: RefineContext) {
  const c = s.controller;
  // Values out of their own range are already reported (range refinements do not abort).
  const ranged = (...v: number[]) => v.every((x) => x > 0 && x <= FLOAT32_MAX);
  const label = (key: ConfigKey) => (SCENARIO_PATHS[key] ?? [key]).join('.');
  const refusals: RuleIssue[] = [
    ...(ranged(s.solver.dt, c.tauPhi, c.tauY, c.tauU, c.tauPsi)
      ? stepRules({ dt: s.solver.dt, ...c }, label)
      : []),
    ...(ranged(s.solver.tol) ? toleranceRule('tol', s.solver.tol) : []),
    ...(c.alpha >= 0 && c.ki >= 0 && c.kp >= 0
      ? gainRules({ controller: c.kind, alpha: c.alpha, ki: c.ki, kp: c.kp }, true)
      : []),
  ];
  // One issue per refusal; a path of one segment "a.b, c.d" names several fields.
  for (const r of refusals)
    ctx.addIssue({
      code: 'custom',
      path: [
        r.keys
          .slice(0, r.named ?? 1)
          .map(label)
          .join(', '),
      ],
      message: r.message,
    });
  const units = s.model.readout === 'units';
  for (const r of outputsRule(s.loss, outputCount(s), []))
    ctx.addIssue({
      code: 'custom',
      path: ['model', units ? 'outputs' : 'd'],
      message: units ? r.message : `${r.message} (d has the outputs)`,
    });
}

/**
 * The number of outputs k: d's length (separate readout), else `model.outputs`, else the target
 * vector's length (readout `units` with mse).
 */
function outputCount(s: { model: Scenario['model']; target: number[] | number }): number {
  if (s.model.readout !== 'units') return s.model.d?.length ?? 0;
  return s.model.outputs ?? (Array.isArray(s.target) ? s.target.length : 0);
}

/** Validate a parsed JSON value as a scenario; throws InputError naming every bad field. */
export function parseScenario(raw: unknown): Scenario {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw InputError.single('(root)', `expected a JSON object, got ${jsonKind(raw)}`);
  const result = scenarioSchema.safeParse(raw);
  if (!result.success) throw inputErrorFromZod(result.error);
  return result.data;
}

/** W, U, b and (separate readout only) D, d. */
export type ParamArrays = {
  W: number[][];
  U: number[][];
  b: number[];
  D?: number[][];
  d?: number[];
};

export interface SolveOutput {
  free: {
    phi: number[];
    y: number[];
    loss: number;
    steps: number;
    converged: boolean;
    /** The largest block's relative change per unit time at the last step (RelaxResult.raw). */
    residual: number;
    gradient: ParamArrays;
  };
  controlled: {
    phi: number[];
    y: number[];
    psi: number[];
    u: number[];
    steps: number;
    converged: boolean;
    residual: number;
    update: ParamArrays;
  };
}

function rowOf(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

function paramArrays(set: ParamSet, readout: Readout): ParamArrays {
  const out = {} as Record<NetworkParamName, number[] | number[][]>;
  for (const name of NETWORK_PARAMS) {
    // Readout `units` has no D or d (their zero placeholders are not part of the answer).
    if (readout === 'units' && (name === 'D' || name === 'd')) continue;
    out[name] = set[name].arraySync() as number[] | number[][];
  }
  return out as ParamArrays;
}

/**
 * Solve one scenario: the free equilibrium and −∇L by RBP there, then the controlled
 * equilibrium and the LCP update. Both solves start from the zero state. Throws
 * DivergenceError when either blows up.
 */
export async function solveScenario(s: Scenario): Promise<SolveOutput> {
  const net = networkFromArrays(s.model, outputCount(s));
  const ctrl: ControllerSettings = { ...s.controller };
  const solver: SolverSettings = s.solver;
  const target = tf.tidy(() =>
    typeof s.target === 'number'
      ? tf.cast(tf.oneHot(tf.tensor1d([s.target], 'int32'), net.k), 'float32')
      : tf.tensor2d([s.target]),
  );
  const x = tf.tensor2d([s.x]);
  const p = presentation(net, x, target, s.loss);
  const owned: Tensor[] = [x, target, p.drive];
  try {
    const free = relax(net, ctrl, solver, p, zeroState(1, net.n, net.k), false);
    const lossT = lossPerSample(s.loss, free.state.y, target);
    owned.push(lossT);
    const gradient = rbpGradient(net, solver, p, free.state.phi, free.state.y);
    const freeOut = {
      phi: rowOf(free.state.phi),
      y: rowOf(free.state.y),
      loss: lossT.dataSync()[0],
      steps: free.steps,
      converged: free.converged,
      residual: free.raw ?? free.residual,
      gradient: paramArrays(gradient.descent, net.readout),
    };
    disposeState(free.state);
    disposeParamSet(gradient.descent);

    const start = zeroState(1, net.n, net.k);
    const controlled =
      ctrl.kind === 'energy'
        ? energyRelax(net, ctrl, solver, p, start)
        : relax(net, ctrl, solver, p, start, true);
    const c = controlsAt(net, ctrl, p, controlled.state);
    const update = lcpUpdate(net, ctrl, p, controlled.state, c);
    const out: SolveOutput = {
      free: freeOut,
      controlled: {
        phi: rowOf(controlled.state.phi),
        y: rowOf(controlled.state.y),
        psi: rowOf(c.psi),
        u: rowOf(c.u),
        steps: controlled.steps,
        converged: controlled.converged,
        residual: controlled.raw ?? controlled.residual,
        update: paramArrays(update, net.readout),
      },
    };
    disposeState(controlled.state);
    tf.dispose([c.u, c.psi]);
    disposeParamSet(update);
    return out;
  } finally {
    tf.dispose(owned);
    disposeNetwork(net);
  }
}

export { InputError };
