import { describe, expect, it } from 'vitest';
import { cosine, spectralRadius, stabilityRadius } from '../../src/engine/metrics';
import { Rng } from '../../src/engine/rng';
import { tf } from '../../src/engine/tf';

/** A = S diag(λ) S⁻¹ for a random well-conditioned S (here: a rotation-like orthogonal S). */
function withEigenvalues(lambdas: number[], seed: number): Float64Array {
  const n = lambdas.length;
  const rng = new Rng(seed, 'metrics');
  // Householder reflection H = I − 2vvᵀ/‖v‖²: orthogonal and symmetric, so H⁻¹ = H.
  const v = Array.from({ length: n }, () => rng.normal());
  const vv = v.reduce((s, x) => s + x * x, 0);
  const H = (i: number, j: number) => (i === j ? 1 : 0) - (2 * v[i] * v[j]) / vv;
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < n; l++) s += H(i, l) * lambdas[l] * H(l, j);
      A[i * n + j] = s;
    }
  return A;
}

describe('spectral radius', () => {
  it('recovers the largest |λ| of matrices with known eigenvalues', () => {
    expect(spectralRadius(withEigenvalues([0.3, -0.9, 0.5, 0.1], 1), 4)).toBeCloseTo(0.9, 4);
    expect(spectralRadius(withEigenvalues([1.7, 1.69, -0.2], 2), 3)).toBeCloseTo(1.7, 3);
  });

  it('handles complex eigenvalues (a scaled rotation has ρ = its scale)', () => {
    const r = 0.8;
    const t = 0.7;
    const A = Float64Array.from([
      r * Math.cos(t),
      -r * Math.sin(t),
      r * Math.sin(t),
      r * Math.cos(t),
    ]);
    expect(spectralRadius(A, 2)).toBeCloseTo(r, 6);
  });

  it('is 0 for a nilpotent (layered) matrix and for zero', () => {
    expect(spectralRadius(Float64Array.from([0, 0, 0, 2, 0, 0, 0, 3, 0]), 3)).toBeLessThan(1e-3);
    expect(spectralRadius(new Float64Array(9), 3)).toBe(0);
  });

  it('stabilityRadius uses W diag(ρ′(φ))', () => {
    const W = tf.tensor2d([
      [0, 2],
      [0.5, 0],
    ]);
    // Eigenvalues of [[0, 2 s₂], [0.5 s₁, 0]] are ±√(s₁ s₂).
    const phi = [0.3, -1.1];
    const s = phi.map((v) => 1 - Math.tanh(v) ** 2);
    expect(stabilityRadius(W, phi, 'tanh')).toBeCloseTo(Math.sqrt(s[0] * s[1]), 5);
    W.dispose();
  });
});

describe('cosine', () => {
  it('is 1 for parallel, −1 for opposite, 0 for orthogonal or zero vectors', () => {
    expect(cosine([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(cosine([1, 2], [-1, -2])).toBeCloseTo(-1, 12);
    expect(cosine([1, 0], [0, 3])).toBe(0);
    expect(cosine([0, 0], [1, 1])).toBe(0);
  });
});
