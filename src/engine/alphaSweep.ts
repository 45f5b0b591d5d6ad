/**
 * The α limit (DESIGN.md §1, chapter 6): on one sample, the LCP update at a range of α against
 * the exact gradient. Pure engine code on tfjs; the worker runs it as a sliced job.
 *
 * With k_p = 0 the output controller settles at u* = −(k_i/α) ∂L/∂y(y*). As α → ∞ the control
 * becomes a weak nudge, y* → y⁰, and (α/k_i)·ΔW → −∇L (cosine and norm ratio → 1); as α → 0 the
 * control is strong and the output reaches its target, ‖y* − t‖ → 0.
 */
import type { ControllerKind } from './kinds';
import { rbpGradientSliced, type GradientResult } from './baselines';
import { DivergenceError } from './errors';
import {
  disposeState,
  presentation,
  zeroState,
  type ControllerSettings,
  type DynState,
  type Presentation,
} from './dynamics';
import { controlsAt, disposeParamSet, lcpUpdate } from './learning';
import { lossGradient, lossPerSample } from './losses';
import { alignment } from './metrics';
import { NETWORK_PARAMS, type Network, type NetworkParamName } from './model';
import type { Simulation } from './simulation';
import type { SliceProgress, Sliced } from './sliced';
import { relaxSliced, RelaxDivergence, type RelaxResult, type SolverSettings } from './solver';
import { tf, type Tensor } from './tf';

/** What an analysis works on: a network, its controller and solver, and one sample. */
export interface AnalysisInput {
  net: Network;
  ctrl: ControllerSettings;
  solver: SolverSettings;
  /** One sample ([1, m] input, [1, k] target); the analysis owns neither. */
  x: Tensor;
  target: Tensor;
  loss: Presentation['loss'];
  /** Index of the sample in the training split (reported back, not used). */
  sample: number;
}

/**
 * The simulation's current sample (the one on screen, not Learn's batch: Learn adds the next
 * samples of the seeded order when batch > 1) with the simulation's network, controller and
 * solver. The tensors are copies the caller disposes (disposeInput).
 */
export function analysisInput(sim: Simulation): AnalysisInput {
  const p = sim.presentation;
  return {
    net: sim.trainer.net,
    ctrl: { ...sim.trainer.ctrl },
    solver: sim.trainer.solver,
    x: p.x.clone(),
    target: p.target.clone(),
    loss: p.loss,
    sample: sim.sample,
  };
}

export function disposeInput(input: AnalysisInput): void {
  tf.dispose([input.x, input.target]);
}

/** One α of the sweep. Values are NaN where the controlled solve diverged. */
export interface AlphaPoint {
  alpha: number;
  /** cos((α/k_i)·ΔW, −∇L) over W, U, b, D, d (the scale does not change it). */
  cosine: number;
  /** ‖(α/k_i)·ΔW‖ / ‖∇L‖ over the same parameters. */
  normRatio: number;
  /** ‖∂L/∂y(y*)‖ / ‖∂L/∂y(y⁰)‖: ‖y* − t‖ / ‖y⁰ − t‖ for mse. */
  outputError: number;
  /** The controlled solve reached the tolerance (false: not settled, or diverged). */
  settled: boolean;
  diverged: boolean;
  steps: number;
  /** The integrator's time constant used at this α (see sweepTauU). */
  tauU: number;
}

export interface AlphaSweepResult {
  points: AlphaPoint[];
  /** The chapter's own α (the view marks it), and the gains the sweep kept. */
  alpha: number;
  ki: number;
  kp: number;
  controller: ControllerKind;
  sample: number;
  /** L(y⁰) and ‖∇L‖ of the sample at its free equilibrium. */
  loss: number;
  gradientNorm: number;
}

/** `count` values spaced evenly in log between lo and hi (both included). */
export function logRange(lo: number, hi: number, count: number): number[] {
  if (count <= 1) return [lo];
  const a = Math.log10(lo);
  const b = Math.log10(hi);
  return Array.from({ length: count }, (_, i) => 10 ** (a + ((b - a) * i) / (count - 1)));
}

/** The default sweep: 1e-3 … 1e3, three points a decade. */
export const DEFAULT_ALPHAS = logRange(1e-3, 1e3, 19);

/** dt·α/τ_u that the sweep never exceeds (the reference runs at 0.1). */
export const SWEEP_RATE = 0.1;

/**
 * τ_u at α: the chapter's τ_u, raised to dt·α/SWEEP_RATE where α is large, so that the
 * integrator's Euler step dt·α/τ_u stays at most SWEEP_RATE (explicit Euler needs it well below
 * 2). τ_u only sets how fast u_I gets there: the equilibrium u_I* = −∂L/∂y(y*)/α does not
 * depend on it, so the points of the sweep are the equilibria of the chapter's controller at
 * each α.
 */
export function sweepTauU(ctrl: ControllerSettings, dt: number, alpha: number): number {
  return Math.max(ctrl.tauU, (dt * alpha) / SWEEP_RATE);
}

/**
 * The factor that turns the LCP update into a gradient estimate: with
 * u = k_i u_I − k_p ∂L/∂y, the controller settles at u* = −(k_i/α + k_p) ∂L/∂y(y*), so the
 * factor is 1/(k_i/α + k_p) = α/(k_i + α k_p) — α/k_i for the chapters' k_p = 0. (With k_p > 0
 * u* stays finite as α → ∞ and the limit is not the gradient.)
 */
export function gradientScale(alpha: number, ki: number, kp: number): number {
  return alpha / (ki + alpha * kp);
}

/** Relax a sliced computation under another progress label; closing it closes the inner one. */
export function* relabel<T>(
  work: Sliced<T>,
  label: (p: SliceProgress) => SliceProgress,
): Sliced<T> {
  try {
    for (;;) {
      const r = work.next();
      if (r.done) return r.value;
      yield label(r.value);
    }
  } finally {
    work.return(undefined as T);
  }
}

/** The free equilibrium and −∇L by RBP of one sample (tensors owned by the caller). */
export interface FreeAndGradient {
  p: Presentation;
  free: DynState;
  gradient: GradientResult;
  /** ∂L/∂y(y⁰) [1, k] and L(y⁰). */
  error: Tensor;
  loss: number;
}

export function disposeFree(f: FreeAndGradient): void {
  tf.dispose([f.p.drive, f.error]);
  disposeState(f.free);
  disposeParamSet(f.gradient.descent);
}

/**
 * The free equilibrium φ⁰ from the zero state and −∇L at it. Throws DivergenceError when there
 * is no free equilibrium (the analyses need one) or the adjoint diverges.
 */
export function* freeAndGradientSliced(input: AnalysisInput): Sliced<FreeAndGradient> {
  const { net, ctrl, solver } = input;
  const p = presentation(net, input.x, input.target, input.loss);
  let free: DynState | null = null;
  let done = false;
  try {
    const init = zeroState(1, net.n, net.k);
    let r: RelaxResult;
    try {
      r = yield* relabel(relaxSliced(net, ctrl, solver, p, init, false), (q) => ({
        ...q,
        stage: 'free equilibrium',
      }));
    } catch (e) {
      if (e instanceof RelaxDivergence) {
        disposeState(e.lastGood);
        throw new DivergenceError(e.phase, e.step, e.reason);
      }
      throw e;
    }
    free = r.state;
    const gradient = yield* rbpGradientSliced(net, solver, p, free.phi, free.y);
    const [error, loss] = tf.tidy(() => [
      lossGradient(p.loss, free!.y, p.target),
      lossPerSample(p.loss, free!.y, p.target),
    ]);
    const lossValue = loss.dataSync()[0];
    loss.dispose();
    done = true;
    return { p, free, gradient, error, loss: lossValue };
  } finally {
    if (!done) {
      p.drive.dispose();
      if (free) disposeState(free);
    }
  }
}

/** ‖v‖ of a small tensor. */
function normOf(v: Tensor): number {
  const t = tf.tidy(() => tf.sqrt(tf.sum(tf.square(v))));
  const out = t.dataSync()[0];
  t.dispose();
  return out;
}

/**
 * The controlled equilibrium of one sample at `ctrl` (its α), started like the trainer's from the
 * free state with u_I = ψ = 0, and the LCP update there measured against −∇L:
 *
 *   s = α/(k_i + α k_p)  (= α/k_i at k_p = 0)
 *   cosine = ⟨s ΔW, −∇L⟩ / (‖s ΔW‖ ‖∇L‖),  normRatio = ‖s ΔW‖ / ‖∇L‖  over θ = (W, U, b, D, d),
 *   outputError = ‖∂L/∂y(y*)‖ / ‖∂L/∂y(y⁰)‖,
 *
 * with ΔW = ψ* ρ(φ*)ᵀ, ΔU = ψ* xᵀ, Δb = ψ*, ΔD = u* ρ(φ*)ᵀ, Δd = u* (lcpUpdate, before the
 * optimiser). The energy controller is relaxed with dynamic inversion's dynamics (the same fixed
 * point at k_p = 0, k_i = 1, without Adam's fixed budget). A divergence gives a point marked
 * diverged, never an exception.
 */
export function* alphaPointSliced(
  input: AnalysisInput,
  base: FreeAndGradient,
  ctrl: ControllerSettings,
  solver: SolverSettings,
  /** Also return s·ΔW per parameter (tests check it against finite differences of L). */
  keepDirection = false,
): Sliced<Omit<AlphaPoint, 'tauU'> & { direction?: Record<NetworkParamName, Float32Array> }> {
  const { net } = input;
  const { p, free } = base;
  const start: DynState = {
    phi: free.phi.clone(),
    y: free.y.clone(),
    uI: tf.zerosLike(free.y),
    psi: tf.zerosLike(free.phi),
  };
  let r: RelaxResult;
  try {
    r = yield* relaxSliced(net, ctrl, solver, p, start, true);
  } catch (e) {
    if (!(e instanceof RelaxDivergence)) throw e;
    disposeState(e.lastGood);
    return {
      alpha: ctrl.alpha,
      cosine: NaN,
      normRatio: NaN,
      outputError: NaN,
      settled: false,
      diverged: true,
      steps: e.step,
    };
  }
  const owned: Tensor[] = [r.state.phi, r.state.y, r.state.uI, r.state.psi];
  try {
    const c = controlsAt(net, ctrl, p, r.state);
    owned.push(c.u, c.psi);
    const update = lcpUpdate(net, ctrl, p, r.state, c);
    owned.push(...Object.values(update));
    const a = alignment(update, base.gradient.descent, gradientScale(ctrl.alpha, ctrl.ki, ctrl.kp));
    const err = lossGradient(p.loss, r.state.y, p.target);
    owned.push(err);
    const finite = Number.isFinite(a.overall) && Number.isFinite(a.normRatio);
    const scale = gradientScale(ctrl.alpha, ctrl.ki, ctrl.kp);
    const direction = keepDirection
      ? (Object.fromEntries(
          NETWORK_PARAMS.map((name) => [name, update[name].dataSync().map((v) => scale * v)]),
        ) as Record<NetworkParamName, Float32Array>)
      : undefined;
    return {
      ...(direction ? { direction } : {}),
      alpha: ctrl.alpha,
      cosine: a.overall,
      normRatio: a.normRatio,
      outputError: normOf(err) / normOf(base.error),
      settled: r.converged && finite,
      diverged: !finite,
      steps: r.steps,
    };
  } finally {
    tf.dispose(owned);
  }
}

/**
 * The α sweep of one sample (see alphaPointSliced for each point's equations; sweepTauU for the
 * integrator's time constant at each α). The solver gets at least 4× the chapter's step budget:
 * small α settles through the slow outer loop. Yields per α point ("α = … (i of N)"); stopped
 * early (`return()`), it frees everything it holds. Throws DivergenceError only when the sample
 * has no free equilibrium or no gradient (then no α can be compared).
 */
export function* alphaSweepSliced(
  input: AnalysisInput,
  alphas: readonly number[] = DEFAULT_ALPHAS,
): Sliced<AlphaSweepResult> {
  const valid = alphas.filter((a) => Number.isFinite(a) && a > 0);
  if (!valid.length) throw new Error('the α sweep needs at least one α > 0');
  const base = yield* freeAndGradientSliced(input);
  try {
    const { ctrl, solver } = input;
    const sweepSolver: SolverSettings = {
      ...solver,
      maxSteps: Math.max(4 * solver.maxSteps, 4000),
    };
    const points: AlphaPoint[] = [];
    for (let i = 0; i < valid.length; i++) {
      const alpha = valid[i];
      const tauU = sweepTauU(ctrl, solver.dt, alpha);
      const label = `α = ${alpha.toPrecision(2)} (${i + 1} of ${valid.length})`;
      yield { stage: label, done: i, total: valid.length };
      const point = yield* relabel(
        alphaPointSliced(input, base, { ...ctrl, alpha, tauU }, sweepSolver),
        () => ({ stage: label, done: i, total: valid.length }),
      );
      points.push({ ...point, tauU });
    }
    return {
      points,
      alpha: ctrl.alpha,
      ki: ctrl.ki,
      kp: ctrl.kp,
      controller: ctrl.kind,
      sample: input.sample,
      loss: base.loss,
      gradientNorm: gradientNorm(base.gradient),
    };
  } finally {
    disposeFree(base);
  }
}

function gradientNorm(g: GradientResult): number {
  let s = 0;
  for (const t of Object.values(g.descent)) {
    const v = t.dataSync();
    for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  }
  return Math.sqrt(s);
}
