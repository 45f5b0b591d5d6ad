import { DivergenceError } from './errors';
import {
  disposeState,
  eulerStep,
  type ControllerSettings,
  type DynState,
  type Presentation,
} from './dynamics';
import {
  blockCoefficients,
  BLOWUP_RMS,
  dispatchScale,
  divergenceReason,
  evaluatesOnDevice,
  fusedSteps,
  GROWTH_CHECKS,
  GROWTH_FACTOR,
  hasFusedKernel,
  NORM_FLOOR,
  packState,
  residualOf,
  STAT,
  STATUS,
  StopRule,
  unpackState,
} from './kernels';
import type { Network } from './model';
import { drain, yieldClock, type Sliced } from './sliced';
import { tf, type Tensor } from './tf';

export interface SolverSettings {
  dt: number;
  /** Relative change per unit time at which a block counts as settled. */
  tol: number;
  maxSteps: number;
  /**
   * Read back every this many steps. Unfused: check convergence every this many steps (default 1).
   * Fused on cpu/wasm the kernel checks after every step on the device whatever this is (it only
   * sets how many steps one dispatch may run; default by size); fused on WebGL it is the check
   * interval (default adaptive, from the residual's rate of decay).
   */
  checkEvery?: number;
  /** false: always integrate with the unfused reference eulerStep (tests, comparisons). */
  fused?: boolean;
}

export { NORM_FLOOR, BLOWUP_RMS };

let fusedEnabled = true;

/** Globally allow (default) or forbid the fused kernels in relax (tests force the reference). */
export function setFusedSolver(enabled: boolean): void {
  fusedEnabled = enabled;
}

/**
 * Does relax use a fused kernel on the current backend with these settings? The kernels
 * integrate both readouts (`_net` is kept for callers that name the network they step).
 */
export function usesFusedPath(
  solver: Pick<SolverSettings, 'fused'>,
  _net?: Pick<Network, 'readout'>,
): boolean {
  return fusedEnabled && solver.fused !== false && hasFusedKernel(tf.getBackend());
}

export interface RelaxResult {
  state: DynState;
  steps: number;
  converged: boolean;
  /**
   * The largest block's relative change per unit time at the last check, beyond what float32
   * resolves (what the rule compares with tol; kernels/spec.ts's residualOf).
   */
  residual: number;
  /** The same without the float32 floors: the relative change the state actually reached. */
  raw?: number;
}

/** Divergence of a relaxation, with the last state that was still finite and bounded. */
export class RelaxDivergence extends DivergenceError {
  constructor(
    phase: string,
    step: number,
    reason: string,
    readonly lastGood: DynState,
    readonly lastGoodStep: number,
  ) {
    super(phase, step, reason);
  }
}

const BLOCKS = ['phi', 'y', 'uI', 'psi'] as const;

/**
 * Per block X: the relative change per unit time beyond float32 resolution (kernels/spec.ts's
 * residualOf, with dt/τ per block in `coef`), the same without the float32 floors (`raw`), and
 * the largest block RMS — read back in one transfer.
 */
export function blockResiduals(
  prev: DynState,
  next: DynState,
  dt: number,
  coef?: readonly number[],
): { residual: number; raw: number; rms: number } {
  const stats = tf.tidy(() =>
    tf.stack(
      BLOCKS.flatMap((key) => [
        tf.sum(tf.square(tf.sub(next[key], prev[key]))),
        tf.sum(tf.square(next[key])),
      ]),
    ),
  );
  const v = stats.dataSync();
  stats.dispose();
  const sizes = BLOCKS.map((key) => next[key].size);
  return residualOf(v, 0, sizes, dt, coef);
}

/**
 * Integrate free (controlled = false) or controlled dynamics from `init` until every block's
 * relative change per unit time is ≤ tol, or maxSteps. Takes ownership of `init`.
 * Throws RelaxDivergence (holding the last good state) on non-finite values, blow-up or a
 * residual that keeps growing. The sliced form of relaxSliced, run to its end.
 */
export function relax(
  net: Network,
  ctrl: ControllerSettings,
  solver: SolverSettings,
  p: Presentation,
  init: DynState,
  controlled: boolean,
  phase = controlled ? 'controlled' : 'free',
): RelaxResult {
  return drain(relaxSliced(net, ctrl, solver, p, init, controlled, phase));
}

/**
 * relax in slices: yields after every fused dispatch (unfused: every YIELD_MS of steps) with
 * the steps taken; stopping it early (`return()`) frees its state.
 */
export function* relaxSliced(
  net: Network,
  ctrl: ControllerSettings,
  solver: SolverSettings,
  p: Presentation,
  init: DynState,
  controlled: boolean,
  phase = controlled ? 'controlled' : 'free',
): Sliced<RelaxResult> {
  if (usesFusedPath(solver, net))
    return yield* relaxFused(net, ctrl, solver, p, init, controlled, phase);
  const checkEvery = Math.max(1, solver.checkEvery ?? 1);
  const coef = blockCoefficients(solver.dt, ctrl);
  let lastRaw = NaN;
  let good = init;
  let goodStep = 0;
  let current = init;
  let best = Infinity;
  let growing = 0;
  let lastResidual = Infinity;
  // Until the result or the divergence takes them, the states are this generator's to free.
  let owned = true;
  try {
    const due = yieldClock();
    for (let step = 1; step <= solver.maxSteps; step++) {
      if (due()) yield { stage: phase, done: step, total: solver.maxSteps };
      const next = eulerStep(net, ctrl, solver.dt, p, current, controlled);
      const isCheck = step % checkEvery === 0 || step === solver.maxSteps;
      if (!isCheck) {
        if (current !== good) disposeState(current);
        current = next;
        continue;
      }
      const { residual, raw, rms } = blockResiduals(current, next, solver.dt, coef);
      lastRaw = raw;
      if (current !== good) disposeState(current);
      current = next;
      const reason = !Number.isFinite(residual)
        ? 'non-finite values'
        : rms > BLOWUP_RMS
          ? `state RMS ${rms.toExponential(2)} exceeds ${BLOWUP_RMS.toExponential(0)}`
          : null;
      growing = residual > lastResidual ? growing + 1 : 0;
      lastResidual = residual;
      best = Math.min(best, residual);
      const keepsGrowing = growing >= GROWTH_CHECKS && residual > GROWTH_FACTOR * best;
      if (reason || keepsGrowing) {
        disposeState(current);
        owned = false;
        throw new RelaxDivergence(
          phase,
          step,
          reason ?? 'the residual keeps growing',
          good,
          goodStep,
        );
      }
      disposeState(good);
      good = current;
      goodStep = step;
      if (residual <= solver.tol) {
        owned = false;
        return { state: current, steps: step, converged: true, residual, raw };
      }
    }
    owned = false;
    return {
      state: current,
      steps: solver.maxSteps,
      converged: false,
      residual: lastResidual,
      raw: lastRaw,
    };
  } finally {
    if (owned) {
      if (current !== good) disposeState(current);
      disposeState(good);
    }
  }
}

/** Multiply-adds per dispatch on host backends, before dispatchScale: a few milliseconds of work
 * (the cpu loops do 6.4·10⁷ in ~5–10 ms, the WASM kernel 4× that in ~7–15 ms), so that the
 * worker yields often enough to answer Stop. */
const INTERACTIVE_DISPATCH_MACS = 6.4e7;
let dispatchMacs = INTERACTIVE_DISPATCH_MACS;

/**
 * Work per dispatch on host backends. The CLI, which has no page to answer, asks for more:
 * every dispatch costs a state copy in and out and a wake-up of the kernel's threads, ~0.5 ms at
 * 256 × 64 (an MNIST epoch of RBP: 2.6 s at 4 steps a dispatch, 2.3 s at up to 1,024).
 */
export function setDispatchBudget(macs: number | 'interactive'): void {
  dispatchMacs = macs === 'interactive' ? INTERACTIVE_DISPATCH_MACS : macs;
}

/**
 * Steps per dispatch on host backends by default: dispatchMacs' worth, scaled by the backend's
 * speed (1 … 1,024). Each dispatch costs a state copy in and out and a wake-up of the kernel's
 * threads (~0.5 ms at 256 × 64): at 4 steps a dispatch that was a quarter of a 2-thread run.
 */
function hostChunk(batch: number, n: number, k: number): number {
  const macs = batch * (2 * n * n + 4 * n * k) + 1;
  const budget = dispatchMacs * dispatchScale(tf.getBackend());
  return Math.max(1, Math.min(1024, 2 ** Math.floor(Math.log2(budget / macs))));
}

/**
 * relax on a fused kernel: the state stays packed on the device; each dispatch runs several steps
 * and returns 16 stats, the only read-back. On cpu/wasm the kernel evaluates the stopping rule
 * after every step (the same steps, residuals and divergence as the unfused loop with
 * checkEvery = 1); on WebGL the rule is evaluated here every K steps, K adapted to the rate at
 * which the residual falls (or solver.checkEvery). Yields after every dispatch.
 */
function* relaxFused(
  net: Network,
  ctrl: ControllerSettings,
  solver: SolverSettings,
  p: Presentation,
  init: DynState,
  controlled: boolean,
  phase: string,
): Sliced<RelaxResult> {
  const { n, k } = net;
  const batch = init.phi.shape[0];
  const onDevice = evaluatesOnDevice(tf.getBackend());
  // The packed state is this generator's: results and divergences take copies of it.
  let packed: Tensor = packState(init);
  disposeState(init);
  const rule = new StopRule(solver.tol);
  const sizes = [batch * n, batch * k, batch * k, batch * n];
  const coef = blockCoefficients(solver.dt, ctrl);
  let step = 0;
  let chunk = solver.checkEvery ?? (onDevice ? hostChunk(batch, n, k) : 16);
  let raw = NaN;
  const finish = (converged: boolean, residual: number): RelaxResult => {
    const state = unpackState(packed, n, k);
    return { state, steps: step, converged, residual, raw };
  };
  const diverge = (at: number, reason: string, goodStep: number): never => {
    const lastGood = unpackState(packed, n, k);
    throw new RelaxDivergence(phase, at, reason, lastGood, goodStep);
  };
  try {
    while (step < solver.maxSteps) {
      if (step > 0) yield { stage: phase, done: step, total: solver.maxSteps };
      const steps = Math.min(solver.maxSteps - step, Math.max(1, chunk));
      const out = fusedSteps(net, ctrl, solver.dt, p, packed, controlled, {
        steps,
        tol: solver.tol,
        growing: rule.growing,
        lastResidual: rule.lastResidual,
        best: rule.best,
      });
      const s = out.stats.dataSync();
      out.stats.dispose();
      if (s[STAT.status] !== STATUS.notEvaluated) {
        // The kernel checked every step; its state is the last good one.
        packed.dispose();
        packed = out.state;
        rule.growing = s[STAT.growing];
        rule.lastResidual = s[STAT.lastResidual];
        rule.best = s[STAT.best];
        if (s[STAT.steps] > 0) raw = s[STAT.raw];
        const status = s[STAT.status];
        if (status >= STATUS.nonFinite)
          diverge(
            step + s[STAT.steps] + 1,
            divergenceReason(status, s[STAT.rms]),
            step + s[STAT.steps],
          );
        step += s[STAT.steps];
        if (status === STATUS.converged) return finish(true, s[STAT.residual]);
        continue;
      }
      // WebGL: one check for the dispatch's last step.
      const checked = residualOf(s, STAT.sums, sizes, solver.dt, coef);
      const { residual, rms } = checked;
      raw = checked.raw;
      const previous = rule.lastResidual;
      const status = rule.check(residual, rms);
      if (status >= STATUS.nonFinite) {
        out.state.dispose();
        diverge(step + steps, divergenceReason(status, rms), step);
      }
      packed.dispose();
      packed = out.state;
      step += steps;
      if (status === STATUS.converged) return finish(true, residual);
      if (solver.checkEvery === undefined)
        chunk = nextChunk(chunk, steps, previous, residual, solver.tol);
    }
    return finish(false, rule.lastResidual);
  } finally {
    packed.dispose();
  }
}

/**
 * WebGL's next check interval: from the residual's decay over the last `steps` steps, the steps
 * still needed to reach tol (at least 4, at most 256; doubling when the residual is not falling).
 */
function nextChunk(
  chunk: number,
  steps: number,
  previous: number,
  residual: number,
  tol: number,
): number {
  if (!(previous > residual) || !Number.isFinite(previous) || residual <= 0)
    return Math.min(256, chunk * 2);
  const perStep = Math.log(residual / previous) / steps; // < 0
  const needed = Math.log(tol / residual) / perStep;
  return Math.max(4, Math.min(256, Math.ceil(needed)));
}
