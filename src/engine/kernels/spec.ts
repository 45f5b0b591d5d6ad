/**
 * What the fused Euler-step kernel computes, shared by its CPU, WASM and WebGL implementations.
 *
 * Inputs (a tfjs kernel's named inputs):
 *   state  [B, 2n + 2k]  packed (φ | ψ | y | u_I), the state before the first step
 *   drive  [B, n]        U x + b
 *   target [B, k]
 *   W [n, n], D [k, n], d [k]
 *   fbA, fbB             dynamic-inversion-kp: B [n, n] and F [n, k]; linear-feedback: fbA = Q [n, k]
 * Attributes: FusedStepAttrs. Outputs: [state′ [B, 2n + 2k], stats [16]] — see STAT.
 *
 * The math is eulerStep's (dynamics.ts), repeated `steps` times with the state kept on the device.
 * With `readout: 'units'` the outputs are the last k units (y ≡ φ_y): D, d and KP's F are not
 * used; u reaches the network only through ψ (dynamic inversion: Pᵀu added to ψ's drive after
 * the slope, no Dᵀ or F term; linear feedback: ψ = Q u as before); and y′ is the last k entries
 * of the new φ, so the y block of the packed state always equals them. ∂L/∂y is taken of the y
 * block the step starts from, as eulerStep does; the stopping rule treats the y block like any
 * other.
 * Host kernels (cpu, wasm) also evaluate the solver's stopping rule after every step and stop at
 * the first step that settles or diverges, so a relaxation ends on exactly the step the unfused
 * loop with checkEvery = 1 ends on; the WebGL kernel runs all `steps` and reports the residual
 * sums of the last one.
 */
import type { Activation } from '../activations';
import type { Readout } from '../kinds';
import type { LossKind } from '../losses';

export const FUSED_STEP = 'LcpFusedEulerStep';

/** Absolute floor under each block's norm in the stopping rule, so that blocks at 0 can settle. */
export const NORM_FLOOR = 1e-6;
/** float32's machine epsilon (the ulp of 1): the resolution the rule's float32 floors scale. */
export const EPS32 = 2 ** -23;
/** A state whose RMS passes this has blown up. */
export const BLOWUP_RMS = 1e6;
/** Consecutive growing checks (and growth over the best residual) that mean divergence. */
export const GROWTH_CHECKS = 500;
export const GROWTH_FACTOR = 1e3;

export const FUSED_KINDS = [
  'free',
  'dynamic-inversion',
  'dynamic-inversion-kp',
  'linear-feedback',
] as const;
export type FusedKind = (typeof FUSED_KINDS)[number];

export interface FusedStepAttrs {
  n: number;
  k: number;
  kind: FusedKind;
  loss: LossKind;
  activation: Activation;
  /** Where the outputs live (model.ts): a separate population, or the network's last k units. */
  readout: Readout;
  /** dt/τ of each block. */
  cPhi: number;
  cY: number;
  cU: number;
  cPsi: number;
  alpha: number;
  ki: number;
  kp: number;
  /** Euler steps per dispatch (host kernels may stop earlier, see STAT.status). */
  steps: number;
  /** The stopping rule (host kernels): dt, tol and the growth bookkeeping carried between calls. */
  dt: number;
  tol: number;
  growing: number;
  lastResidual: number;
  best: number;
}

/** Layout of the stats output [16]. */
export const STAT = {
  /** Steps whose result the output state holds. */
  steps: 0,
  /** One of STATUS. */
  status: 1,
  /** Stopping rule's residual and the largest block RMS at the last evaluated step. */
  residual: 2,
  rms: 3,
  growing: 4,
  lastResidual: 5,
  best: 6,
  /** The largest block's relative change per unit time, float32 floors not subtracted. */
  raw: 7,
  /** ‖ΔX‖², ‖X‖² per block (φ, y, u_I, ψ) of the last step: indices 8 … 15. */
  sums: 8,
} as const;
export const STATS_SIZE = 16;

export const STATUS = {
  /** The rule was not evaluated on the device (WebGL): read the sums. */
  notEvaluated: -1,
  /** Ran all `steps` without settling or diverging. */
  running: 0,
  converged: 1,
  nonFinite: 2,
  blowUp: 3,
  growing: 4,
} as const;

/** Block order of the sums (the unfused solver's order) and their sizes per sample. */
export const BLOCK_ORDER = ['phi', 'y', 'uI', 'psi'] as const;

/**
 * The stopping rule's residual from the per-block sums (φ, y, u_I, ψ; STAT.sums' order). Per
 * block X, the relative change per unit time beyond what float32 can resolve:
 *
 *   max(0, ‖X′ − X‖ − f_X) / (dt (‖X′‖ + NORM_FLOOR)),
 *
 * the largest over blocks (`residual`, compared with tol), the same without f_X (`raw`), and the
 * largest block RMS. The float32 floor f_X is the change that rounding alone keeps producing at
 * a fixed point: ε(‖X‖ + c_X ‖state‖) for φ, y and u_I (its own resolution plus c_X = dt/τ_X
 * times the resolution of the whole state its update reads — u_I's right-hand side carries y's
 * through ∂L/∂y), and for ψ, which is proportional to u at equilibrium, ε(1 + c_ψ)‖ψ‖ plus u_I's
 * relative floor times ‖ψ‖. NaN when any sum is not finite.
 */
export function residualOf(
  sums: ArrayLike<number>,
  offset: number,
  sizes: readonly number[],
  dt: number,
  coef: readonly number[] = [dt, dt, dt, dt],
): { residual: number; raw: number; rms: number } {
  const diff = [0, 1, 2, 3].map((i) => Math.sqrt(sums[offset + 2 * i]));
  const norm = [0, 1, 2, 3].map((i) => Math.sqrt(sums[offset + 2 * i + 1]));
  if (![...diff, ...norm].every(Number.isFinite)) return { residual: NaN, raw: NaN, rms: NaN };
  const total = Math.sqrt(
    sums[offset + 1] + sums[offset + 3] + sums[offset + 5] + sums[offset + 7],
  );
  const floors = [0, 1, 2].map((i) => EPS32 * (norm[i] + coef[i] * total));
  floors.push(EPS32 * (1 + coef[3]) * norm[3] + (norm[3] * floors[2]) / (norm[2] + NORM_FLOOR));
  let residual = 0;
  let raw = 0;
  let rms = 0;
  for (let i = 0; i < 4; i++) {
    const scale = dt * (norm[i] + NORM_FLOOR);
    residual = Math.max(residual, Math.max(0, diff[i] - floors[i]) / scale);
    raw = Math.max(raw, diff[i] / scale);
    if (sizes[i] > 0) rms = Math.max(rms, norm[i] / Math.sqrt(sizes[i]));
  }
  return { residual, raw, rms };
}

/** dt/τ per block (φ, y, u_I, ψ), the coefficients of residualOf's float32 floors. */
export function blockCoefficients(
  dt: number,
  tau: { tauPhi: number; tauY: number; tauU: number; tauPsi: number },
): number[] {
  return [dt / tau.tauPhi, dt / tau.tauY, dt / tau.tauU, dt / tau.tauPsi];
}

/** The solver's growth and divergence bookkeeping, one check at a time. */
export class StopRule {
  growing: number;
  lastResidual: number;
  best: number;

  constructor(
    readonly tol: number,
    growing = 0,
    lastResidual = Infinity,
    best = Infinity,
  ) {
    this.growing = growing;
    this.lastResidual = lastResidual;
    this.best = best;
  }

  /** One check: a STATUS code (running, converged or a divergence). */
  check(residual: number, rms: number): number {
    const bad = !Number.isFinite(residual)
      ? STATUS.nonFinite
      : rms > BLOWUP_RMS
        ? STATUS.blowUp
        : 0;
    this.growing = residual > this.lastResidual ? this.growing + 1 : 0;
    this.lastResidual = residual;
    this.best = Math.min(this.best, residual);
    if (bad) return bad;
    if (this.growing >= GROWTH_CHECKS && residual > GROWTH_FACTOR * this.best)
      return STATUS.growing;
    return residual <= this.tol ? STATUS.converged : STATUS.running;
  }
}

/** The divergence message the unfused solver gives for a status. */
export function divergenceReason(status: number, rms: number): string {
  if (status === STATUS.nonFinite) return 'non-finite values';
  if (status === STATUS.blowUp)
    return `state RMS ${rms.toExponential(2)} exceeds ${BLOWUP_RMS.toExponential(0)}`;
  return 'the residual keeps growing';
}

/** Columns padded to a multiple of 16 floats (the SIMD tile width). */
export function pad16(v: number): number {
  return Math.max(16, Math.ceil(v / 16) * 16);
}
