/**
 * The least control in the phase plane (DESIGN.md §1, readout `units`; the paper's Figure 1),
 * as plain arithmetic on a few numbers for the page's main thread: no tfjs, no dynamics.
 *
 * Every state φ is an equilibrium of τ_φ φ̇ = −φ + Wρ(φ) + Ux + b + ψ under exactly one control,
 *
 *     ψ(φ) = φ − Wρ(φ) − Ux − b,
 *
 * so ½‖ψ(φ)‖² is a landscape over the states (it equals ½‖τ_φ φ̇‖² of the free flow). With the
 * outputs inside the network (y ≡ φ_y) the least control is ψ* = ψ(φ*), where φ* minimises
 * ½‖ψ(φ)‖² on the target set φ_y = t: the lowest level curve that touches that set touches it at
 * φ*. In a plane (φ_i, φ_j) whose axis includes the output unit the target set is a line; for
 * more than two units the plane is a slice with the other units held, and so is the minimum.
 */
import type { Activation } from './kinds';
import { rateScalar } from './scalarActivations';

/** What ψ(φ) needs: W (n×n, row = post-synaptic unit, row-major), the drive Ux + b, ρ. */
export interface ControlProblem {
  n: number;
  W: ArrayLike<number>;
  /** Ux + b (length n). */
  drive: ArrayLike<number>;
  activation: Activation;
}

/** ρ(v) for one number (the engine's scalar form, free of TensorFlow.js). */
export const rho = rateScalar;

/** The drive Ux + b from U (n×m, row-major), b (n) and the input x (m). */
export function driveOf(
  U: ArrayLike<number> | null,
  b: ArrayLike<number> | null,
  x: ArrayLike<number>,
  n: number,
): Float64Array {
  const m = x.length;
  const out = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    let v = b ? b[a] : 0;
    if (U) for (let c = 0; c < m; c++) v += U[a * m + c] * x[c];
    out[a] = v;
  }
  return out;
}

/** The control that makes φ an equilibrium: ψ(φ) = φ − Wρ(φ) − Ux − b. */
export function controlAt(p: ControlProblem, phi: ArrayLike<number>): Float64Array {
  const { n, W } = p;
  const r = Float64Array.from({ length: n }, (_, l) => rho(p.activation, phi[l]));
  const psi = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    let v = phi[a] - p.drive[a];
    for (let l = 0; l < n; l++) v -= W[a * n + l] * r[l];
    psi[a] = v;
  }
  return psi;
}

/** ½‖v‖². */
export function halfSquaredNorm(v: ArrayLike<number>): number {
  let s = 0;
  for (let q = 0; q < v.length; q++) s += v[q] * v[q];
  return 0.5 * s;
}

/**
 * ψ on the plane (φ_i, φ_j) through `held` (the other units held there): the terms of the held
 * units are summed once, so each point costs O(n), not O(n²):
 *   ψ(φ) = c + e_i φ_i + e_j φ_j − W[:, i] ρ(φ_i) − W[:, j] ρ(φ_j),
 *   c = φ_held (zero at i, j) − Σ_{l ≠ i, j} W[:, l] ρ(φ_l) − Ux − b.
 */
export function sliceControl(
  p: ControlProblem,
  held: ArrayLike<number>,
  i: number,
  j: number,
): (a: number, b: number, out?: Float64Array) => Float64Array {
  const { n, W } = p;
  const c = new Float64Array(n);
  const wi = new Float64Array(n);
  const wj = new Float64Array(n);
  for (let a = 0; a < n; a++) {
    let v = (a === i || a === j ? 0 : held[a]) - p.drive[a];
    for (let l = 0; l < n; l++)
      if (l !== i && l !== j) v -= W[a * n + l] * rho(p.activation, held[l]);
    c[a] = v;
    wi[a] = W[a * n + i];
    wj[a] = i === j ? 0 : W[a * n + j];
  }
  return (a, b, out = new Float64Array(n)) => {
    const ri = rho(p.activation, a);
    const rj = rho(p.activation, b);
    for (let q = 0; q < n; q++) out[q] = c[q] - wi[q] * ri - wj[q] * rj;
    out[i] += a;
    if (j !== i) out[j] += b;
    return out;
  };
}

/**
 * ½‖ψ(φ)‖² on a size×size grid of the plane (φ_i along columns, φ_j along rows, both over
 * `range`, row-major) — the layout of the worker's flow field.
 */
export function controlGrid(
  p: ControlProblem,
  held: ArrayLike<number>,
  i: number,
  j: number,
  range: [number, number],
  size: number,
): Float64Array {
  const psi = sliceControl(p, held, i, j);
  const [lo, hi] = range;
  const out = new Float64Array(size * size);
  const buf = new Float64Array(p.n);
  const at = (g: number) => lo + ((hi - lo) * g) / (size - 1);
  for (let r = 0; r < size; r++)
    for (let c = 0; c < size; c++) out[r * size + c] = halfSquaredNorm(psi(at(c), at(r), buf));
  return out;
}

/** A point of the target line, its control and the control's ½‖ψ‖². */
export interface LinePoint {
  /** The point's coordinate along the line (the free axis of the plane). */
  s: number;
  /** (φ_i, φ_j). */
  phi: [number, number];
  psi: Float64Array;
  half: number;
}

/**
 * The target line of the plane: output unit `out` held at t. It is φ_j = t when the output is j
 * (horizontal), φ_i = t when it is i (vertical), and null when neither axis is the output.
 */
export interface TargetLine {
  /** Which axis the line fixes. */
  fixed: 'i' | 'j';
  t: number;
}

export function targetLine(i: number, j: number, out: number, t: number): TargetLine | null {
  if (!Number.isFinite(t)) return null;
  if (out === j) return { fixed: 'j', t };
  if (out === i) return { fixed: 'i', t };
  return null;
}

/** The control at coordinate s of the line. */
export function linePoint(
  psi: ReturnType<typeof sliceControl>,
  line: TargetLine,
  s: number,
): LinePoint {
  const phi: [number, number] = line.fixed === 'j' ? [s, line.t] : [line.t, s];
  const v = psi(phi[0], phi[1]);
  return { s, phi, psi: v, half: halfSquaredNorm(v) };
}

/**
 * φ*: the point of the target line with the least ½‖ψ(φ)‖², searched over `span` (a coarse scan
 * of `samples` points for the global minimum, then a golden-section refinement between its
 * neighbours, to ~1e-9 of the span).
 */
export function leastControlOnLine(
  psi: ReturnType<typeof sliceControl>,
  line: TargetLine,
  span: [number, number],
  samples = 401,
): LinePoint {
  const [lo, hi] = span;
  const step = (hi - lo) / (samples - 1);
  const f = (s: number) => linePoint(psi, line, s).half;
  let best = 0;
  let bestV = Infinity;
  for (let q = 0; q < samples; q++) {
    const v = f(lo + q * step);
    if (v < bestV) {
      bestV = v;
      best = q;
    }
  }
  let a = lo + Math.max(0, best - 1) * step;
  let b = lo + Math.min(samples - 1, best + 1) * step;
  const g = (Math.sqrt(5) - 1) / 2;
  let c = b - g * (b - a);
  let d = a + g * (b - a);
  let fc = f(c);
  let fd = f(d);
  while (b - a > 1e-9 * Math.max(1, hi - lo)) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - g * (b - a);
      fc = f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + g * (b - a);
      fd = f(d);
    }
  }
  return linePoint(psi, line, (a + b) / 2);
}
