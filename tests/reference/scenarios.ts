/**
 * Seeded generator of random scenarios (DESIGN.md §2 JSON format) for checking the engine against
 * the float64 reference. Own PRNG (mulberry32 + Box–Muller) so that the cases never change with a
 * library version.
 *
 * Scales (stable networks): W ~ N(0, g²/fan-in) with g ≤ 0.9 (recurrent), U ~ N(0, 1/m),
 * D ~ N(0, 1/fan-in), b, d ~ N(0, 0.1²), x ~ N(0, 1), mse targets ~ N(0, 0.5²), Q ~ N(0, 1/k).
 * Masked-out entries of W, U and D keep random values, so the engine must apply the masks.
 */

import {
  normInf,
  relativeError,
  simulateEuler,
  solveControlled,
  solveFree,
  type ActivationName,
  type LossName,
  type Matrix,
  type ReferenceScenario,
  type Vector,
} from './float64';

// ───────────────────────────────────────── PRNG ──────────────────────────────────────────────

/** mulberry32: a small 32-bit PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Uniform, integer, normal (Box–Muller) and choice draws from one stream. */
export class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  uniform(lo = 0, hi = 1): number {
    return lo + (hi - lo) * this.next();
  }
  /** Integer in [lo, hi], both ends included. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  /** N(0, 1) by Box–Muller (1 − u keeps the logarithm finite). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  vector(n: number, sd: number): Vector {
    return Array.from({ length: n }, () => sd * this.normal());
  }
  matrix(rows: number, cols: number, sd: number | ((i: number, j: number) => number)): Matrix {
    const sdAt = typeof sd === 'number' ? () => sd : sd;
    return Array.from({ length: rows }, (_, i) =>
      Array.from({ length: cols }, (_, j) => sdAt(i, j) * this.normal()),
    );
  }
}

// ─────────────────────────────────────── the generator ────────────────────────────────────────

export type Topology = 'recurrent' | 'random-mask' | 'layered';
export type GeneratedKind = 'dynamic-inversion' | 'linear-feedback';
export const ALPHAS = [0.1, 1, 10, 100] as const;

/** What to generate; every field left out is drawn from the seed. */
export interface ScenarioSpec {
  /** Hidden units, 5–50 when drawn. */
  n?: number;
  /** Inputs, 1–8 when drawn. */
  m?: number;
  /** Outputs, 1–6 (2–6 for cross-entropy) when drawn. */
  k?: number;
  activation?: ActivationName;
  loss?: LossName;
  kind?: GeneratedKind;
  alpha?: number;
  topology?: Topology;
  /** Blocks h₁ … h_L of a layered net, 2–4 when drawn. */
  layers?: number;
  /** Gain g of W, 0.3–0.9 when drawn. */
  gain?: number;
  dt?: number;
  tol?: number;
}

/** The resolved choices of a generated scenario (for test names and coverage checks). */
export interface ScenarioInfo {
  seed: number;
  n: number;
  m: number;
  k: number;
  activation: ActivationName;
  loss: LossName;
  kind: GeneratedKind;
  alpha: number;
  topology: Topology;
  blocks: number[];
  gain: number;
}

export interface GeneratedScenario {
  scenario: ReferenceScenario;
  info: ScenarioInfo;
}

/** Resolves the spec: given fields as they are, the rest drawn (in a fixed order) from rng. */
function resolveSpec(seed: number, spec: ScenarioSpec, rng: Rng): ScenarioInfo {
  const loss = spec.loss ?? rng.pick<LossName>(['mse', 'cross-entropy']);
  const topology =
    spec.topology ?? rng.pick<Topology>(['recurrent', 'recurrent', 'random-mask', 'layered']);
  const layers = spec.layers ?? rng.int(2, 4);
  const n = spec.n ?? rng.int(Math.max(5, topology === 'layered' ? layers : 0), 50);
  return {
    seed,
    n,
    m: spec.m ?? rng.int(1, 8),
    k: spec.k ?? (loss === 'cross-entropy' ? rng.int(2, 6) : rng.int(1, 6)),
    activation: spec.activation ?? 'tanh',
    loss,
    kind: spec.kind ?? rng.pick<GeneratedKind>(['dynamic-inversion', 'linear-feedback']),
    alpha: spec.alpha ?? rng.pick(ALPHAS),
    topology,
    blocks: topology === 'layered' ? splitBlocks(n, layers, rng) : [n],
    gain: spec.gain ?? rng.uniform(0.3, 0.9),
  };
}

/** Sizes of L blocks summing to n, each ≥ 1, as even as possible with the remainder drawn. */
function splitBlocks(n: number, L: number, rng: Rng): number[] {
  if (n < L) throw new Error(`cannot split ${n} units into ${L} layers`);
  const sizes = new Array<number>(L).fill(Math.floor(n / L));
  for (let r = 0; r < n % L; r++) sizes[rng.int(0, L - 1)] += 1;
  return sizes;
}

/** Block index of every hidden unit. */
function blockOf(blocks: number[]): number[] {
  return blocks.flatMap((size, l) => new Array<number>(size).fill(l));
}

interface Masks {
  mask?: Matrix;
  maskU?: Matrix;
  maskD?: Matrix;
  /** Fan-in of each hidden unit through W (its presynaptic count), for the weight scale. */
  fanInW: number[];
  /** Number of hidden units D reads. */
  fanInD: number;
}

/**
 * Layered: W keeps only h_ℓ → h_ℓ₊₁ (row in h_ℓ₊₁, column in h_ℓ), U feeds h₁ only, D reads h_L only.
 * Random mask: each W entry kept with probability 0.6.
 */
function drawMasks(info: ScenarioInfo, rng: Rng): Masks {
  const { n, m, k } = info;
  if (info.topology === 'recurrent') return { fanInW: new Array<number>(n).fill(n), fanInD: n };
  if (info.topology === 'random-mask') {
    const mask: Matrix = Array.from({ length: n }, () =>
      Array.from({ length: n }, () => (rng.uniform() < 0.6 ? 1 : 0)),
    );
    return {
      mask,
      fanInW: mask.map((row) =>
        Math.max(
          1,
          row.reduce((a, v) => a + v, 0),
        ),
      ),
      fanInD: n,
    };
  }
  const layer = blockOf(info.blocks);
  const last = info.blocks.length - 1;
  return {
    mask: layer.map((li) => layer.map((lj) => (li === lj + 1 ? 1 : 0))),
    maskU: layer.map((li) => new Array<number>(m).fill(li === 0 ? 1 : 0)),
    maskD: Array.from({ length: k }, () => layer.map((lj) => (lj === last ? 1 : 0))),
    fanInW: layer.map((li) => (li === 0 ? 1 : info.blocks[li - 1])),
    fanInD: info.blocks[last],
  };
}

/**
 * A random scenario from a seed. Deterministic: the same (seed, spec) gives the same scenario.
 * Controller: k_i = 1, k_p = 0, all time constants 1 except τ_u = α when α > 1 (so dt·α/τ_u ≤ dt).
 */
export function generateScenario(seed: number, spec: ScenarioSpec = {}): GeneratedScenario {
  const rng = new Rng(seed);
  const info = resolveSpec(seed, spec, rng);
  const { n, m, k, gain } = info;
  const masks = drawMasks(info, rng);
  const model: ReferenceScenario['model'] = {
    activation: info.activation,
    W: rng.matrix(n, n, (i) => gain / Math.sqrt(masks.fanInW[i])),
    U: rng.matrix(n, m, 1 / Math.sqrt(m)),
    b: rng.vector(n, 0.1),
    D: rng.matrix(k, n, 1 / Math.sqrt(masks.fanInD)),
    d: rng.vector(k, 0.1),
  };
  if (masks.mask) model.mask = masks.mask;
  if (masks.maskU) model.maskU = masks.maskU;
  if (masks.maskD) model.maskD = masks.maskD;
  if (info.kind === 'linear-feedback') model.Q = rng.matrix(n, k, 1 / Math.sqrt(k));
  const scenario: ReferenceScenario = {
    model,
    loss: info.loss,
    x: rng.vector(m, 1),
    target: info.loss === 'mse' ? rng.vector(k, 0.5) : rng.int(0, k - 1),
    controller: {
      kind: info.kind,
      alpha: info.alpha,
      ki: 1,
      kp: 0,
      tauPhi: 1,
      tauY: 1,
      tauU: info.alpha > 1 ? info.alpha : 1,
      tauPsi: 1,
    },
    solver: {
      dt: spec.dt ?? 0.2,
      tol: spec.tol ?? rng.pick([1e-7, 1e-6]),
      maxSteps: 200000,
    },
  };
  return { scenario, info };
}

// ──────────────────────────────── checked (well-posed) scenarios ──────────────────────────────

/** Default float64 Euler step budget for the well-posedness check. */
export const EULER_BUDGET = 10000;

/**
 * Whether Euler from the zero state (same dt, float64) reaches, within `budget` steps, the free
 * and controlled equilibria that Newton finds, to a relative 1e-6: the scenario is stable, its
 * equilibrium is the one the engine's dynamics will find, and the engine will not need an
 * unreasonable number of steps. Returns the reason when it is not.
 */
export function checkReachable(s: ReferenceScenario, budget = EULER_BUDGET): string | undefined {
  let free, controlled;
  try {
    free = solveFree(s);
    controlled = solveControlled(s, free);
  } catch (e) {
    return `Newton failed: ${(e as Error).message}`;
  }
  const eulerFree = simulateEuler(s, false, budget);
  if (!eulerFree.converged) return 'free Euler did not converge within the budget';
  if (!close(eulerFree.phi, free.phi)) return 'free Euler reached another equilibrium';
  const eulerCtl = simulateEuler(s, true, budget);
  if (!eulerCtl.converged) return 'controlled Euler did not converge within the budget';
  const pairs: [Vector, Vector][] = [
    [eulerCtl.phi, controlled.phi],
    [eulerCtl.y, controlled.y],
    [eulerCtl.psi, controlled.psi],
    [eulerCtl.u, controlled.u],
  ];
  if (!pairs.every(([a, b]) => close(a, b))) return 'controlled Euler reached another equilibrium';
  return undefined;
}

function close(a: Vector, b: Vector): boolean {
  return normInf(b) === 0 ? normInf(a) < 1e-9 : relativeError(a, b) <= 1e-6;
}

/** The seed of retry `attempt` for base seed `seed` (attempt 0 is the seed itself). */
function retrySeed(seed: number, attempt: number): number {
  return (seed + Math.imul(attempt, 0x9e3779b9)) >>> 0;
}

/**
 * generateScenario, redrawn with derived seeds (keeping the spec) until checkReachable passes.
 * Throws after `maxAttempts` rejections.
 */
export function generateCheckedScenario(
  seed: number,
  spec: ScenarioSpec = {},
  budget = EULER_BUDGET,
  maxAttempts = 20,
): GeneratedScenario {
  const reasons: string[] = [];
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const generated = generateScenario(retrySeed(seed, attempt), spec);
    const reason = checkReachable(generated.scenario, budget);
    if (reason === undefined) return generated;
    reasons.push(reason);
  }
  throw new Error(`no reachable scenario for seed ${seed}: ${reasons.join('; ')}`);
}

/** A short label for test names, e.g. "seed 7: n=12 tanh mse dynamic-inversion α=10 layered[4,4,4]". */
export function describeScenario(info: ScenarioInfo): string {
  const topo = info.topology === 'layered' ? `layered[${info.blocks.join(',')}]` : info.topology;
  return `seed ${info.seed}: n=${info.n} m=${info.m} k=${info.k} ${info.activation} ${info.loss} ${info.kind} α=${info.alpha} ${topo}`;
}
