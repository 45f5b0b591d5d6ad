/**
 * Equilibrium propagation's two phases beside LCP's one (chapter 12, "one phase, not two"), on
 * one sample. EP's phases run in float64 on plain arrays: its update is a difference of two
 * equilibria divided by a small β, which float32 would drown in rounding (a relative 1e-7 over
 * β = 1e-4 is already 1e-3). LCP's controlled phase runs on the engine's own dynamics (tfjs).
 *
 * EP (here, on this engine's dynamics τ_φ φ̇ = −φ + Wρ(φ) + Ux + b):
 *   free phase:    φ⁰ = the equilibrium of −φ + Wρ(φ) + Ux + b, from φ = 0;
 *   nudged phase:  φ^β = the equilibrium of −φ + Wρ(φ) + Ux + b − β n(φ), from φ⁰, where the
 *                  nudge acts through the output:
 *                    readout `separate`: n = Dᵀ ∂L/∂y(y), y = Dρ(φ) + d (the output error fed
 *                      back through the readout's transpose: EP's symmetric connections);
 *                    readout `units`: n = Pᵀ(∂L/∂y(φ_y) / ρ′(φ_y)) on the output units.
 *   update:        ΔW = (1/β)(ρ(φ^β) − ρ(φ⁰)) ρ(φ⁰)ᵀ, ΔU = (1/β)(ρ(φ^β) − ρ(φ⁰)) xᵀ,
 *                  Δb = (1/β)(ρ(φ^β) − ρ(φ⁰)); separate readout: ΔD = −∂L/∂y(y⁰) ρ(φ⁰)ᵀ,
 *                  Δd = −∂L/∂y(y⁰) (the free phase's delta rule). Masked like the weights.
 *
 * Why it tends to −∇L as β → 0 when W is symmetric. Let F(φ) = −φ + Wρ(φ) + Ux + b and
 * J = ∂F/∂φ = −I + W diag ρ′ at φ⁰. Differentiating F(φ^β) − β n(φ^β) = 0 at β = 0 gives
 * dφ^β/dβ = J⁻¹ n, so (1/β)(ρ(φ^β) − ρ(φ⁰)) → diag(ρ′) J⁻¹ n. The exact gradient follows from
 * F(φ⁰) = 0 by implicit differentiation: −∇_W L = J⁻ᵀ (∂L/∂φ) ρ(φ⁰)ᵀ, with ∂L/∂φ =
 * diag(ρ′) Dᵀ ∂L/∂y (separate) or Pᵀ ∂L/∂y (units) — in both cases ∂L/∂φ = diag(ρ′) n. If W is
 * symmetric, diag(ρ′) J = −diag(ρ′) + diag(ρ′) W diag(ρ′) is symmetric, so
 * diag(ρ′) J = Jᵀ diag(ρ′), i.e. diag(ρ′) J⁻¹ diag(ρ′)⁻¹ = J⁻ᵀ, and
 *   diag(ρ′) J⁻¹ n = J⁻ᵀ diag(ρ′) n = J⁻ᵀ ∂L/∂φ:
 * EP's update is −∇L up to O(β). If W is not symmetric, diag(ρ′) J⁻¹ diag(ρ′)⁻¹ ≠ J⁻ᵀ and the
 * update stays biased however small β is. So EP needs two phases, a small β (a difference of
 * two nearly equal equilibria) and symmetric weights; LCP reads its update off one controlled
 * equilibrium, ΔW = ψ* ρ(φ*)ᵀ, and its dynamic inversion carries Wᵀ in the controller.
 */
import { rateScalar, slopeScalar, type Activation } from './activations';
import {
  alphaPointSliced,
  disposeFree,
  freeAndGradientSliced,
  logRange,
  relabel,
  sweepTauU,
  type AnalysisInput,
  type FreeAndGradient,
} from './alphaSweep';
import { disposeState, eulerStep, presentation, zeroState, type DynState } from './dynamics';
import type { Readout } from './kinds';
import type { LossKind } from './losses';
import { NETWORK_PARAMS, type NetworkParamName } from './model';
import { yieldClock, type Sliced } from './sliced';
import { NORM_FLOOR, relaxSliced, RelaxDivergence } from './solver';
import { tf } from './tf';

/** The default β: 1e-4 … 1, two points a decade. */
export const DEFAULT_BETAS = logRange(1e-4, 1, 9);

/** Relative change per unit time at which EP's float64 phases count as settled. */
export const EP_TOL = 1e-11;

/** Points a drawn trajectory keeps at most (per phase). */
export const TRACE_POINTS = 240;

/** α of LCP's weak-control limit in the comparison. */
export const LIMIT_ALPHA = 1e3;

/** LCP's update at one α against −∇L (see alphaPointSliced). */
export interface LcpPoint {
  alpha: number;
  cosine: number;
  normRatio: number;
  settled: boolean;
  steps: number;
}

/** EP's update at one β, against −∇L. */
export interface EpPoint {
  beta: number;
  /** cos(ΔW_EP, −∇L) over W, U, b, D, d (NaN when the nudged phase did not settle). */
  cosine: number;
  /** ‖ΔW_EP‖ / ‖∇L‖. */
  normRatio: number;
  settled: boolean;
  steps: number;
}

/** A trajectory, downsampled: time (units of τ_φ), the first output and a few hidden units. */
export interface Trace {
  t: number[];
  output: number[];
  /** units[q][i]: φ of unit unitIndices[q] at t[i]. */
  units: number[][];
  /** Reached its equilibrium (within its step budget). */
  settled: boolean;
}

export interface EpResult {
  sample: number;
  readout: Readout;
  points: EpPoint[];
  /** LCP at the chapter's α on the same sample (the trainer's way: from φ⁰, u_I = ψ = 0). */
  lcp: LcpPoint;
  /**
   * LCP in the weak-control limit (α = LIMIT_ALPHA, or the chapter's if larger): the counterpart
   * of EP's β → 0, where (α/k_i)ΔW → −∇L on any W, symmetric or not.
   */
  lcpLimit: LcpPoint;
  /** ‖W − Wᵀ‖ / (2‖W‖): 0 for symmetric W, 1 for antisymmetric. */
  asymmetry: number;
  /** The β of the nudged trajectory drawn. */
  shownBeta: number;
  /** Hidden units drawn (output units excluded for readout `units`), and the target of output 0. */
  unitIndices: number[];
  target: number;
  /** EP's free phase from φ = 0, its nudged phase from φ⁰ (times continue), LCP from 0. */
  free: Trace;
  nudged: Trace;
  controlled: Trace;
}

/** The network and sample as float64 arrays. */
interface Plain {
  n: number;
  m: number;
  k: number;
  activation: Activation;
  readout: Readout;
  loss: LossKind;
  W: Float64Array;
  U: Float64Array;
  D: Float64Array;
  d: Float64Array;
  masks: Record<'W' | 'U' | 'D', Float64Array | null>;
  x: Float64Array;
  target: Float64Array;
  /** U x + b. */
  drive: Float64Array;
  dtOverTau: number;
}

function plainOf(input: AnalysisInput): Plain {
  const { net } = input;
  const f = (t: tf.Tensor) => Float64Array.from(t.dataSync());
  const { W, U, b, D, d } = net.params;
  const x = f(input.x);
  const Uv = f(U);
  const bv = f(b);
  const drive = new Float64Array(net.n);
  for (let i = 0; i < net.n; i++) {
    let s = bv[i];
    for (let j = 0; j < net.m; j++) s += Uv[i * net.m + j] * x[j];
    drive[i] = s;
  }
  return {
    n: net.n,
    m: net.m,
    k: net.k,
    activation: net.activation,
    readout: net.readout,
    loss: input.loss,
    W: f(W),
    U: Uv,
    D: f(D),
    d: f(d),
    masks: {
      W: net.masks.W ? f(net.masks.W) : null,
      U: net.masks.U ? f(net.masks.U) : null,
      D: net.masks.D ? f(net.masks.D) : null,
    },
    x,
    target: f(input.target),
    drive,
    dtOverTau: input.solver.dt / input.ctrl.tauPhi,
  };
}

/** ρ(φ), ρ′(φ). */
function rates(P: Plain, phi: Float64Array): { r: Float64Array; s: Float64Array } {
  const r = new Float64Array(P.n);
  const s = new Float64Array(P.n);
  for (let i = 0; i < P.n; i++) {
    r[i] = rateScalar(P.activation, phi[i]);
    s[i] = slopeScalar(P.activation, phi[i]);
  }
  return { r, s };
}

/** y: Dρ(φ) + d (separate) or φ_y (units). */
function outputOf(P: Plain, phi: Float64Array, r: Float64Array): Float64Array {
  const y = new Float64Array(P.k);
  for (let o = 0; o < P.k; o++) {
    if (P.readout === 'units') y[o] = phi[P.n - P.k + o];
    else {
      let v = P.d[o];
      for (let j = 0; j < P.n; j++) v += P.D[o * P.n + j] * r[j];
      y[o] = v;
    }
  }
  return y;
}

/** ∂L/∂y: mse y − t; cross-entropy softmax(y) − t. */
function lossGrad(P: Plain, y: Float64Array): Float64Array {
  const g = new Float64Array(P.k);
  if (P.loss === 'mse') {
    for (let o = 0; o < P.k; o++) g[o] = y[o] - P.target[o];
    return g;
  }
  let max = -Infinity;
  for (const v of y) max = Math.max(max, v);
  let z = 0;
  for (let o = 0; o < P.k; o++) z += Math.exp(y[o] - max);
  for (let o = 0; o < P.k; o++) g[o] = Math.exp(y[o] - max) / z - P.target[o];
  return g;
}

/** The nudge n(φ) (see the module's comment). */
function nudgeOf(P: Plain, phi: Float64Array, r: Float64Array, s: Float64Array): Float64Array {
  const g = lossGrad(P, outputOf(P, phi, r));
  const out = new Float64Array(P.n);
  if (P.readout === 'units') {
    for (let o = 0; o < P.k; o++) {
      const i = P.n - P.k + o;
      out[i] = g[o] / s[i];
    }
  } else {
    for (let o = 0; o < P.k; o++) for (let j = 0; j < P.n; j++) out[j] += P.D[o * P.n + j] * g[o];
  }
  return out;
}

interface Recorder {
  t: number[];
  output: number[];
  units: number[][];
}

/**
 * Euler relaxation φ ← φ + (dt/τ_φ)(−φ + Wρ(φ) + Ux + b − β n(φ)) from `start` until
 * ‖Δφ‖ / (dt ‖φ‖) ≤ EP_TOL (relative change per unit time) or `maxSteps`; non-finite or blown-up
 * states stop it unsettled. Records every step into `rec` (times from `t0`) when given.
 */
function* relaxEp(
  P: Plain,
  start: Float64Array,
  beta: number,
  maxSteps: number,
  dt: number,
  rec: Recorder | null,
  unitIndices: number[],
  t0: number,
): Sliced<{ phi: Float64Array; settled: boolean; steps: number }> {
  let phi = Float64Array.from(start);
  const due = yieldClock();
  const record = (step: number, p: Float64Array, r: Float64Array) => {
    if (!rec) return;
    rec.t.push(t0 + step * dt);
    rec.output.push(outputOf(P, p, r)[0]);
    unitIndices.forEach((u, q) => rec.units[q].push(p[u]));
  };
  for (let step = 1; step <= maxSteps; step++) {
    const { r, s } = rates(P, phi);
    if (step === 1) record(0, phi, r);
    const nudge = beta !== 0 ? nudgeOf(P, phi, r, s) : null;
    const next = new Float64Array(P.n);
    let change = 0;
    let size = 0;
    for (let i = 0; i < P.n; i++) {
      let f = -phi[i] + P.drive[i];
      const row = i * P.n;
      for (let j = 0; j < P.n; j++) f += P.W[row + j] * r[j];
      if (nudge) f -= beta * nudge[i];
      const v = phi[i] + P.dtOverTau * f;
      next[i] = v;
      change += (v - phi[i]) ** 2;
      size += v * v;
    }
    phi = next;
    if (rec) record(step, phi, rates(P, phi).r);
    if (!Number.isFinite(size) || size > 1e12) return { phi, settled: false, steps: step };
    if (Math.sqrt(change) / (dt * (Math.sqrt(size) + NORM_FLOOR)) <= EP_TOL)
      return { phi, settled: true, steps: step };
    if (due())
      yield {
        stage: beta ? `nudged phase (β = ${beta.toPrecision(2)})` : 'free phase',
        done: step,
        total: maxSteps,
      };
  }
  return { phi, settled: false, steps: maxSteps };
}

/** EP's contrastive update at β (see the module's comment), per parameter, masked. */
function epUpdate(
  P: Plain,
  phi0: Float64Array,
  phiBeta: Float64Array,
  beta: number,
): Record<NetworkParamName, Float64Array> {
  const { n, m, k } = P;
  const r0 = rates(P, phi0).r;
  const rb = rates(P, phiBeta).r;
  const post = Float64Array.from(rb, (v, i) => (v - r0[i]) / beta);
  const W = new Float64Array(n * n);
  const U = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) W[i * n + j] = post[i] * r0[j] * (P.masks.W?.[i * n + j] ?? 1);
    for (let j = 0; j < m; j++) U[i * m + j] = post[i] * P.x[j] * (P.masks.U?.[i * m + j] ?? 1);
  }
  const D = new Float64Array(k * n);
  const d = new Float64Array(k);
  if (P.readout === 'separate') {
    const g = lossGrad(P, outputOf(P, phi0, r0));
    for (let o = 0; o < k; o++) {
      d[o] = -g[o];
      for (let j = 0; j < n; j++) D[o * n + j] = -g[o] * r0[j] * (P.masks.D?.[o * n + j] ?? 1);
    }
  }
  return { W, U, b: post, D, d };
}

/** Cosine and norm ratio of an update with a reference direction over all parameters. */
function compare(
  update: Record<NetworkParamName, Float64Array>,
  reference: Record<NetworkParamName, Float32Array>,
): { cosine: number; normRatio: number } {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (const name of NETWORK_PARAMS) {
    const a = update[name];
    const b = reference[name];
    for (let i = 0; i < a.length; i++) {
      ab += a[i] * b[i];
      aa += a[i] * a[i];
      bb += b[i] * b[i];
    }
  }
  return {
    cosine: aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : NaN,
    normRatio: bb > 0 ? Math.sqrt(aa / bb) : NaN,
  };
}

/** Every `stride`-th point of a recorder (and its last), at most TRACE_POINTS. */
function downsample(rec: Recorder, settled: boolean): Trace {
  const len = rec.t.length;
  const stride = Math.max(1, Math.ceil(len / TRACE_POINTS));
  const keep: number[] = [];
  for (let i = 0; i < len; i += stride) keep.push(i);
  if (len && keep[keep.length - 1] !== len - 1) keep.push(len - 1);
  return {
    t: keep.map((i) => rec.t[i]),
    output: keep.map((i) => rec.output[i]),
    units: rec.units.map((u) => keep.map((i) => u[i])),
    settled,
  };
}

function emptyRecorder(units: number): Recorder {
  return { t: [], output: [], units: Array.from({ length: units }, () => []) };
}

/** The hidden units a trajectory shows: up to three, not the output units of readout `units`. */
export function shownUnits(n: number, k: number, readout: Readout): number[] {
  const hidden = readout === 'units' ? n - k : n;
  return Array.from({ length: Math.min(3, hidden) }, (_, i) => i);
}

export interface EpOptions {
  betas?: readonly number[];
  /** α of the LCP comparison (default: the controller's own). */
  alpha?: number;
  /** β of the nudged trajectory drawn (default: the largest β). */
  shownBeta?: number;
}

/**
 * EP's free and nudged phases and LCP's controlled phase on one sample: EP's cosine with −∇L
 * (RBP at the engine's free equilibrium) for every β, LCP's at α, and the three trajectories.
 * Sliced; stopped early it frees what it holds. Throws DivergenceError only when the sample has
 * no free equilibrium or no gradient.
 */
export function* epCompareSliced(input: AnalysisInput, options: EpOptions = {}): Sliced<EpResult> {
  const betas = (options.betas ?? DEFAULT_BETAS).filter((b) => Number.isFinite(b) && b !== 0);
  if (!betas.length) throw new Error('the EP comparison needs at least one β ≠ 0');
  const P = plainOf(input);
  const { ctrl, solver } = input;
  const dt = solver.dt;
  const maxSteps = Math.max(4 * solver.maxSteps, 20_000);
  const unitIndices = shownUnits(P.n, P.k, P.readout);
  const base: FreeAndGradient = yield* freeAndGradientSliced(input);
  try {
    const reference = {} as Record<NetworkParamName, Float32Array>;
    for (const name of NETWORK_PARAMS)
      reference[name] = Float32Array.from(base.gradient.descent[name].dataSync());

    // EP's free phase from rest, recorded.
    const freeRec = emptyRecorder(unitIndices.length);
    const free = yield* relaxEp(P, new Float64Array(P.n), 0, maxSteps, dt, freeRec, unitIndices, 0);
    const tFree = freeRec.t[freeRec.t.length - 1] ?? 0;

    const points: EpPoint[] = [];
    const shownBeta = options.shownBeta ?? Math.max(...betas);
    let nudgedTrace: Trace | null = null;
    for (let i = 0; i < betas.length; i++) {
      const beta = betas[i];
      const label = `EP, β = ${beta.toPrecision(2)} (${i + 1} of ${betas.length})`;
      yield { stage: label, done: i, total: betas.length + 2 };
      const rec = beta === shownBeta ? emptyRecorder(unitIndices.length) : null;
      const nudged = yield* relabel(
        relaxEp(P, free.phi, beta, maxSteps, dt, rec, unitIndices, tFree),
        () => ({ stage: label, done: i, total: betas.length + 2 }),
      );
      if (rec) nudgedTrace = downsample(rec, nudged.settled);
      const ok = free.settled && nudged.settled;
      const c = ok
        ? compare(epUpdate(P, free.phi, nudged.phi, beta), reference)
        : { cosine: NaN, normRatio: NaN };
      points.push({ beta, ...c, settled: ok, steps: nudged.steps });
    }
    if (!nudgedTrace) {
      const rec = emptyRecorder(unitIndices.length);
      const nudged = yield* relaxEp(P, free.phi, shownBeta, maxSteps, dt, rec, unitIndices, tFree);
      nudgedTrace = downsample(rec, nudged.settled);
    }

    // LCP at α (its point the trainer's way) and in the weak-control limit; its one phase from
    // rest at α, drawn.
    const alpha = options.alpha ?? ctrl.alpha;
    const limitAlpha = Math.max(LIMIT_ALPHA, alpha);
    const lcpSolver = { ...solver, maxSteps: Math.max(4 * solver.maxSteps, 4000) };
    const total = betas.length + 2;
    const lcpAt = (a: number, done: number) => {
      const label = `LCP, α = ${a.toPrecision(2)}`;
      return relabel(
        alphaPointSliced(
          input,
          base,
          { ...ctrl, alpha: a, tauU: sweepTauU(ctrl, dt, a) },
          lcpSolver,
        ),
        () => ({ stage: label, done, total }),
      );
    };
    const point = yield* lcpAt(alpha, betas.length);
    const limit = yield* lcpAt(limitAlpha, betas.length + 1);
    const controlled = yield* relabel(
      controlledTrace(
        input,
        { ...ctrl, alpha, tauU: sweepTauU(ctrl, dt, alpha) },
        lcpSolver,
        unitIndices,
      ),
      () => ({ stage: `LCP, α = ${alpha.toPrecision(2)}`, done: betas.length + 1, total }),
    );
    const lcpOf = (q: typeof point): LcpPoint => ({
      alpha: q.alpha,
      cosine: q.cosine,
      normRatio: q.normRatio,
      settled: q.settled,
      steps: q.steps,
    });
    return {
      sample: input.sample,
      readout: P.readout,
      points,
      lcp: lcpOf(point),
      lcpLimit: lcpOf(limit),
      asymmetry: asymmetry(P.W, P.n),
      shownBeta,
      unitIndices,
      target: P.target[0] ?? NaN,
      free: downsample(freeRec, free.settled),
      nudged: nudgedTrace,
      controlled,
    };
  } finally {
    disposeFree(base);
  }
}

/** ‖W − Wᵀ‖ / (2‖W‖) (0 when W = 0). */
export function asymmetry(W: ArrayLike<number>, n: number): number {
  let diff = 0;
  let size = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      diff += (W[i * n + j] - W[j * n + i]) ** 2;
      size += W[i * n + j] ** 2;
    }
  return size > 0 ? Math.sqrt(diff) / (2 * Math.sqrt(size)) : 0;
}

/**
 * LCP's single phase from rest: the controlled dynamics from the zero state (u_I = ψ = 0), relaxed
 * by the engine's solver to find how long they take, then replayed step by step (eulerStep)
 * with a read-back every few steps for the drawing (at most 4000 steps drawn).
 */
function* controlledTrace(
  input: AnalysisInput,
  ctrl: AnalysisInput['ctrl'],
  solver: AnalysisInput['solver'],
  unitIndices: number[],
): Sliced<Trace> {
  const { net } = input;
  const p = presentation(net, input.x, input.target, input.loss);
  let steps: number;
  let settled: boolean;
  try {
    try {
      const r = yield* relaxSliced(net, ctrl, solver, p, zeroState(1, net.n, net.k), true);
      disposeState(r.state);
      steps = r.steps;
      settled = r.converged;
    } catch (e) {
      if (!(e instanceof RelaxDivergence)) throw e;
      steps = e.lastGoodStep;
      settled = false;
      disposeState(e.lastGood);
    }
    const shown = Math.min(steps, 4000);
    const every = Math.max(1, Math.ceil(shown / TRACE_POINTS));
    const rec = emptyRecorder(unitIndices.length);
    let s: DynState = zeroState(1, net.n, net.k);
    const due = yieldClock();
    try {
      const read = (step: number) => {
        const phi = s.phi.dataSync();
        const y = s.y.dataSync();
        rec.t.push(step * solver.dt);
        rec.output.push(y[0]);
        unitIndices.forEach((u, q) => rec.units[q].push(phi[u]));
      };
      read(0);
      for (let step = 1; step <= shown; step++) {
        const next = eulerStep(net, ctrl, solver.dt, p, s, true);
        disposeState(s);
        s = next;
        if (step % every === 0 || step === shown) read(step);
        if (due()) yield { stage: 'controlled', done: step, total: shown };
      }
    } finally {
      disposeState(s);
    }
    return downsample(rec, settled);
  } finally {
    p.drive.dispose();
  }
}
