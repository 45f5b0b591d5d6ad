import { slopeScalar, type Activation } from './activations';
import type { ParamSet } from './learning';
import { NETWORK_PARAMS, type NetworkParamName } from './model';
import { drain, type Sliced } from './sliced';
import { tf, type Tensor } from './tf';

/** Cosine of two flat vectors; 0 when either is zero. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

export interface Alignment {
  /** Cosine per parameter and over all parameters concatenated. */
  perParam: Record<NetworkParamName, number>;
  overall: number;
  /** ‖update‖ / ‖reference‖ over all parameters. */
  normRatio: number;
}

/** How well an update points along a reference direction (e.g. −∇L), per matrix and overall. */
export function alignment(update: ParamSet, reference: ParamSet, scale = 1): Alignment {
  const perParam = {} as Record<NetworkParamName, number>;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (const name of NETWORK_PARAMS) {
    const a = update[name].dataSync();
    const b = reference[name].dataSync();
    perParam[name] = cosine(a, b);
    for (let i = 0; i < a.length; i++) {
      ab += scale * a[i] * b[i];
      aa += scale * scale * a[i] * a[i];
      bb += b[i] * b[i];
    }
  }
  return {
    perParam,
    overall: aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0,
    normRatio: bb > 0 ? Math.sqrt(aa / bb) : 0,
  };
}

/**
 * Spectral radius of a square matrix A (row-major, float64) from Gelfand's formula
 * ‖Aᵏ‖ ≈ c ρᵏ, with k = 2ᵖ by repeated squaring (renormalised, so nothing overflows). The ratio of
 * two successive powers cancels the constant c: ρ ≈ (‖A^(2K)‖ / ‖A^K‖)^(1/K), K = 2^(squarings−1).
 */
export function spectralRadius(a: Float64Array, n: number, squarings = 12): number {
  let m = Float64Array.from(a);
  let next = new Float64Array(n * n);
  let logScale = 0; // A^(2^p) = exp(logScale) · m
  let previousLogNorm = NaN;
  let power = 1;
  for (let p = 0; p <= squarings; p++) {
    const norm = frobenius(m);
    if (norm === 0) return 0;
    const logNorm = logScale + Math.log(norm);
    if (p === squarings) return Math.exp((logNorm - previousLogNorm) / (power / 2));
    previousLogNorm = logNorm;
    for (let i = 0; i < m.length; i++) m[i] /= norm;
    logScale = 2 * logNorm;
    next.fill(0);
    for (let i = 0; i < n; i++) {
      for (let l = 0; l < n; l++) {
        const v = m[i * n + l];
        if (v === 0) continue;
        for (let j = 0; j < n; j++) next[i * n + j] += v * m[l * n + j];
      }
    }
    [m, next] = [next, m];
    power *= 2;
  }
  return NaN;
}

function frobenius(m: Float64Array): number {
  let s = 0;
  for (let i = 0; i < m.length; i++) s += m[i] * m[i];
  return Math.sqrt(s);
}

/** Largest n for which stabilityRadius squares the matrix (12 n³ flops); above, vector powers. */
const SQUARING_MAX_N = 64;
/** Multiply-adds a vector-power estimate may spend (about a second of JS; more only above n ≈ 1,000). */
const POWER_BUDGET = 1e8;

/** ρ(W diag(ρ'(φ))) for one sample's φ (stability of the free equilibrium). */
export function stabilityRadius(W: Tensor, phi: ArrayLike<number>, activation: Activation): number {
  return drain(stabilityRadiusSliced(W.dataSync(), phi, activation));
}

/**
 * stabilityRadius in slices, from W's values (row-major n×n). Small n: Gelfand's formula on the
 * matrix (spectralRadius). Large n: the same ratio on vector powers, (‖J^(2K) v‖ / ‖J^K v‖)^(1/K)
 * with J = W diag(ρ') and a fixed pseudo-random v — O(n²) per power instead of O(n³) per squaring;
 * K as large as POWER_BUDGET allows (≥ 32; the error of the ratio falls like 1/K when many
 * eigenvalues share the largest modulus, as in random matrices).
 */
export function* stabilityRadiusSliced(
  w: ArrayLike<number>,
  phi: ArrayLike<number>,
  activation: Activation,
): Sliced<number> {
  const n = phi.length;
  const slopes = Float64Array.from(phi, (v) => slopeScalar(activation, v));
  if (n <= SQUARING_MAX_N) {
    const j = new Float64Array(n * n);
    for (let row = 0; row < n; row++)
      for (let col = 0; col < n; col++) j[row * n + col] = w[row * n + col] * slopes[col];
    return spectralRadius(j, n);
  }
  const K = Math.max(32, Math.min(128, Math.floor(POWER_BUDGET / (2 * n * n))));
  const perSlice = Math.max(1, Math.floor(4e6 / (n * n)));
  let v = new Float64Array(n);
  // A fixed, sign-mixed start vector: no stream is consumed for a metric.
  for (let i = 0; i < n; i++) v[i] = Math.sin(12.9898 * (i + 1)) >= 0 ? 1 : -1;
  let next = new Float64Array(n);
  const sv = new Float64Array(n);
  let logNorm = 0;
  let logAtK = 0;
  for (let p = 1; p <= 2 * K; p++) {
    if (p % perSlice === 0) yield { stage: 'stability', done: p, total: 2 * K };
    let norm = 0;
    for (let i = 0; i < n; i++) sv[i] = slopes[i] * v[i];
    for (let row = 0; row < n; row++) {
      let acc = 0;
      const base = row * n;
      for (let col = 0; col < n; col++) acc += w[base + col] * sv[col];
      next[row] = acc;
      norm += acc * acc;
    }
    norm = Math.sqrt(norm);
    if (norm === 0) return 0;
    if (!Number.isFinite(norm)) return NaN;
    logNorm += Math.log(norm);
    for (let i = 0; i < n; i++) next[i] /= norm;
    [v, next] = [next, v];
    if (p === K) logAtK = logNorm;
  }
  // log‖J^(2K) v‖ − log‖J^K v‖ (the start vector's norm cancels).
  return Math.exp((logNorm - logAtK) / K);
}

/** Euclidean norm of a − b (mean over the batch of per-sample norms for [B, n] tensors). */
export function meanRowDistance(a: Tensor, b: Tensor): number {
  const t = tf.tidy(() => tf.mean(tf.sqrt(tf.sum(tf.square(tf.sub(a, b)), -1))));
  const v = t.dataSync()[0];
  t.dispose();
  return v;
}

/** Mean over the batch of ½‖v‖² per sample. */
export function meanHalfSquaredNorm(v: Tensor): number {
  const t = tf.tidy(() => tf.mean(tf.mul(0.5, tf.sum(tf.square(v), -1))));
  const out = t.dataSync()[0];
  t.dispose();
  return out;
}
