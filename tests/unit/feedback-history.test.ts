/**
 * Feedback alignment in the learning history (LearningPoint.alignmentQ, .angleB): after Learn and
 * Train the points carry the numbers, and they equal independent float64 computations — the
 * cosine of Q u* with M(φ*) u* solved here by Gaussian elimination, 1 when Q = M(φ*); the angle
 * between B and Wᵀ from the weights after the update, 0° when B = Wᵀ.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig, type TrainConfig } from '../../src/engine/config';
import { Simulation } from '../../src/engine/simulation';

const base: Partial<TrainConfig> = {
  task: 'pattern',
  inputs: 3,
  outputs: 2,
  hidden: 4,
  topology: 'recurrent',
  readout: 'separate',
  activation: 'tanh',
  alpha: 0.5,
  dt: 0.2,
  tol: 1e-8,
  maxSteps: 40_000,
  optimizer: 'sgd',
  lr: 0.05,
  batch: 1,
  seed: 5,
};

/** Solve A z = r (dense, partial pivoting). */
function solveLinear(A: number[][], r: number[]): number[] {
  const n = r.length;
  const M = A.map((row, i) => [...row, r[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let q = c + 1; q < n; q++) if (Math.abs(M[q][c]) > Math.abs(M[p][c])) p = q;
    [M[c], M[p]] = [M[p], M[c]];
    for (let q = c + 1; q < n; q++) {
      const f = M[q][c] / M[c][c];
      for (let l = c; l <= n; l++) M[q][l] -= f * M[c][l];
    }
  }
  const z = new Array<number>(n).fill(0);
  for (let c = n - 1; c >= 0; c--) {
    let v = M[c][n];
    for (let l = c + 1; l < n; l++) v -= M[c][l] * z[l];
    z[c] = v / M[c][c];
  }
  return z;
}

/** M(φ) = (I − diag(ρ'(φ)) Wᵀ)⁻¹ diag(ρ'(φ)) Dᵀ as a function of u (tanh). */
function inversion(W: Float32Array, D: Float32Array, phi: ArrayLike<number>, n: number, k: number) {
  const s = Array.from(phi, (v) => 1 - Math.tanh(v) ** 2);
  const A = Array.from({ length: n }, (_, a) =>
    Array.from({ length: n }, (_, c) => (a === c ? 1 : 0) - s[a] * W[c * n + a]),
  );
  return (u: ArrayLike<number>) => {
    const r = Array.from({ length: n }, (_, a) => {
      let v = 0;
      for (let o = 0; o < k; o++) v += D[o * n + a] * u[o];
      return s[a] * v;
    });
    return solveLinear(A, r);
  };
}

const cos = (a: number[], b: number[]) => {
  const dot = a.reduce((s, v, q) => s + v * b[q], 0);
  return dot / (Math.hypot(...a) * Math.hypot(...b));
};

/** The controlled equilibrium of the current sample, as the interactive run reaches it. */
function controlledState(sim: Simulation) {
  sim.setControl(true);
  sim.equilibrium();
  expect(sim.metrics.settled).toBe(true);
  const s = sim.read();
  sim.setControl(false);
  return s;
}

describe('feedback alignment in the learning history', () => {
  it('linear feedback: alignmentQ is cos(Q u*, M(φ*) u*) before the update; 1 when Q = M(φ*)', () => {
    const sim = new Simulation(parseConfig({ ...base, controller: 'linear-feedback' }));
    try {
      const n = sim.n;
      const k = sim.data.k;
      // Independent: φ*, u* of the current sample under ψ = Q u, and M(φ*) u* in float64.
      const w = sim.readWeights();
      const st = controlledState(sim);
      const Q = w.Q!.data;
      const qu = Array.from({ length: n }, (_, a) => {
        let v = 0;
        for (let o = 0; o < k; o++) v += Q[a * k + o] * st.u[o];
        return v;
      });
      const mu = inversion(w.W!.data, w.D!.data, st.phi, n, k)(st.u);
      const expected = cos(qu, mu);
      const point = sim.learn();
      expect(point.alignmentQ).toBeDefined();
      expect(point.angleB).toBeUndefined();
      expect(Math.abs(point.alignmentQ! - expected)).toBeLessThan(2e-3);
      expect(expected).toBeLessThan(0.99); // a random Q is not aligned: the check can fail
      expect(sim.pendingLearning.at(-1)).toBe(point);

      // Q = M(φ*) at the equilibrium that Q itself leads to: found by repeating Q ← M(φ*(Q))
      // (φ* of linear feedback with the Q before); there the cosine is 1.
      let moved = Infinity;
      for (let round = 0; round < 30 && moved > 1e-7; round++) {
        const lf = controlledState(sim);
        const w2 = sim.readWeights();
        const M = inversion(w2.W!.data, w2.D!.data, lf.phi, n, k);
        moved = 0;
        for (let o = 0; o < k; o++) {
          const col = M(Array.from({ length: k }, (_, q) => (q === o ? 1 : 0)));
          for (let a = 0; a < n; a++) {
            moved = Math.max(moved, Math.abs(col[a] - w2.Q!.data[a * k + o]));
            sim.editParam('Q', a, o, col[a]);
          }
        }
      }
      expect(moved).toBeLessThan(1e-5);
      const aligned = sim.learn();
      expect(aligned.alignmentQ).toBeGreaterThan(0.9999);
    } finally {
      sim.dispose();
    }
  });

  it('Kolen–Pollack: angleB is the angle of B with Wᵀ after the update; 0° when B = Wᵀ', () => {
    const sim = new Simulation(parseConfig({ ...base, controller: 'dynamic-inversion-kp' }));
    try {
      const point = sim.learn();
      expect(point.alignmentQ).toBeUndefined();
      const w = sim.readWeights();
      const n = sim.n;
      const B = Array.from(w.B!.data);
      const Wt = Array.from(
        { length: n * n },
        (_, q) => w.W!.data[(q % n) * n + Math.floor(q / n)],
      );
      const expected = (Math.acos(cos(B, Wt)) * 180) / Math.PI;
      expect(expected).toBeGreaterThan(5);
      expect(point.angleB).toBeCloseTo(expected, 2);

      // B = Wᵀ: Kolen–Pollack keeps it so (ΔB = ΔWᵀ, the same decay), and the angle is 0.
      for (let a = 0; a < n; a++)
        for (let c = 0; c < n; c++) sim.editParam('B', a, c, w.W!.data[c * n + a]);
      const zero = sim.learn();
      expect(zero.angleB).toBeLessThan(0.05);
      // Train records it on every update of a small net.
      const trained = Array.from({ length: 3 }, () => sim.trainStep());
      for (const p of trained) expect(Number.isFinite(p.angleB)).toBe(true);
    } finally {
      sim.dispose();
    }
  });

  it('other controllers carry neither number', () => {
    const sim = new Simulation(parseConfig({ ...base, controller: 'dynamic-inversion' }));
    try {
      const p = sim.learn();
      expect(p.alignmentQ).toBeUndefined();
      expect(p.angleB).toBeUndefined();
    } finally {
      sim.dispose();
    }
  });
});
