import { DivergenceError } from './errors';
import {
  disposeState,
  eulerStep,
  type ControllerSettings,
  type DynState,
  type Presentation,
} from './dynamics';
import type { Network } from './model';
import { tf } from './tf';

export interface SolverSettings {
  dt: number;
  /** Relative change per unit time at which a block counts as settled. */
  tol: number;
  maxSteps: number;
  /** Check convergence every this many steps (1 on CPU; larger where read-back is dear). */
  checkEvery?: number;
}

/** Absolute floor under each block's norm in the stopping rule, so that blocks at 0 can settle. */
export const NORM_FLOOR = 1e-6;
/** A state whose RMS passes this has blown up. */
export const BLOWUP_RMS = 1e6;
/** Consecutive growing checks (and growth over the best residual) that mean divergence. */
const GROWTH_CHECKS = 500;
const GROWTH_FACTOR = 1e3;

export interface RelaxResult {
  state: DynState;
  steps: number;
  converged: boolean;
  /** The largest block's relative change per unit time at the last check. */
  residual: number;
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
 * Per block X: ‖X′ − X‖ / (dt · (‖X′‖ + floor)), the relative change per unit time, and the
 * block's RMS — read back in one transfer.
 */
export function blockResiduals(
  prev: DynState,
  next: DynState,
  dt: number,
): { residual: number; rms: number } {
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
  let residual = 0;
  let rms = 0;
  for (let i = 0; i < BLOCKS.length; i++) {
    const diff = Math.sqrt(v[2 * i]);
    const norm = Math.sqrt(v[2 * i + 1]);
    const size = next[BLOCKS[i]].size;
    residual = Math.max(residual, diff / (dt * (norm + NORM_FLOOR)));
    if (size > 0) rms = Math.max(rms, norm / Math.sqrt(size));
    if (!Number.isFinite(diff) || !Number.isFinite(norm)) return { residual: NaN, rms: NaN };
  }
  return { residual, rms };
}

/**
 * Integrate free (controlled = false) or controlled dynamics from `init` until every block's
 * relative change per unit time is ≤ tol, or maxSteps. Takes ownership of `init`.
 * Throws RelaxDivergence (holding the last good state) on non-finite values, blow-up or a
 * residual that keeps growing.
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
  const checkEvery = Math.max(1, solver.checkEvery ?? 1);
  let good = init;
  let goodStep = 0;
  let current = init;
  let best = Infinity;
  let growing = 0;
  let lastResidual = Infinity;
  for (let step = 1; step <= solver.maxSteps; step++) {
    const next = eulerStep(net, ctrl, solver.dt, p, current, controlled);
    const isCheck = step % checkEvery === 0 || step === solver.maxSteps;
    if (!isCheck) {
      if (current !== good) disposeState(current);
      current = next;
      continue;
    }
    const { residual, rms } = blockResiduals(current, next, solver.dt);
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
    if (residual <= solver.tol) return { state: current, steps: step, converged: true, residual };
  }
  return { state: current, steps: solver.maxSteps, converged: false, residual: lastResidual };
}
