/**
 * Equilibrium propagation against LCP (engine/ep.ts): with symmetric W, EP's contrastive update
 * approaches −∇L (and so LCP's weak-control cosine) as β → 0; with asymmetric W it stays
 * biased, by exactly the amount its β → 0 limit diag(ρ′)J⁻¹n predicts (computed here
 * independently by a float64 linear solve); the update is even in β to first order.
 */
import { describe, expect, it } from 'vitest';
import { epCompareSliced, type EpResult } from '../../src/engine/ep';
import { drain } from '../../src/engine/sliced';
import { tf } from '../../src/engine/tf';
import { disposeAll, inputOf, symmetrised, type PlainSample } from '../support/analysisInput';
import { randomScenario } from '../support/randomScenario';

function randomSample(seed: number, symmetric: boolean): PlainSample {
  const s = randomScenario({ n: 6, seed, gain: 0.8 });
  const W = symmetric ? symmetrised(s.model.W) : s.model.W;
  return { model: { ...s.model, W, Q: undefined }, k: 2, x: s.x, target: s.target as number[] };
}

const FIGURE_1_W = [
  [0.3, -0.6],
  [0.7, 0.2],
];
function figure1(W: number[][]): PlainSample {
  return {
    model: { activation: 'tanh', readout: 'units', W, U: [[0.9], [-0.4]], b: [0.1, -0.2] },
    k: 1,
    x: [1],
    target: [0.6],
    ctrl: { tauU: 10 },
  };
}

const BETAS = [1e-1, 1e-2, 1e-3, 1e-4];

function run(sample: PlainSample, betas = BETAS): EpResult {
  const input = inputOf(sample);
  const before = tf.memory().numTensors;
  try {
    return drain(epCompareSliced(input, { betas }));
  } finally {
    expect(tf.memory().numTensors).toBe(before);
    disposeAll(input);
  }
}

describe('EP’s two phases against LCP', () => {
  for (const [name, sample] of [
    ['separate readout, n = 6', randomSample(21, true)],
    ['readout units (Figure 1’s net, W symmetrised)', figure1(symmetrised(FIGURE_1_W))],
  ] as const) {
    it(`${name}, symmetric W: EP’s cosine → LCP’s weak-control cosine as β → 0`, () => {
      const r = run(sample);
      expect(r.asymmetry).toBe(0);
      expect(r.points.every((p) => p.settled)).toBe(true);
      expect(r.lcpLimit.alpha).toBe(1000);
      expect(1 - r.lcpLimit.cosine).toBeLessThan(1e-3);
      const gaps = r.points.map((p) => Math.abs(p.cosine - r.lcpLimit.cosine));
      for (let i = 1; i < gaps.length; i++)
        expect(gaps[i]).toBeLessThanOrEqual(Math.max(gaps[i - 1], 2e-6));
      expect(gaps[gaps.length - 1]).toBeLessThan(1e-2);
      // The norm too: EP's update is −∇L itself in the limit, not just its direction.
      expect(Math.abs(r.points[r.points.length - 1].normRatio - 1)).toBeLessThan(1e-2);
    });
  }

  it('asymmetric W: EP stays biased as β → 0, by what diag(ρ′)J⁻¹n predicts; LCP does not', () => {
    const sample = figure1(FIGURE_1_W);
    const r = run(sample);
    expect(r.asymmetry).toBeGreaterThan(0.3);
    const smallest = r.points[r.points.length - 1];
    expect(1 - r.lcpLimit.cosine).toBeLessThan(1e-3);
    expect(r.lcpLimit.cosine - smallest.cosine).toBeGreaterThan(0.05);
    // Smaller β no longer helps: the last two cosines agree.
    expect(Math.abs(smallest.cosine - r.points[r.points.length - 2].cosine)).toBeLessThan(1e-4);
    expect(Math.abs(smallest.cosine - predictedCosine(sample))).toBeLessThan(1e-4);
  });

  it('the update is even in β to first order (ρ(φ^β) − ρ(φ⁰) is odd)', () => {
    // (1/β)(ρ(φ^β) − ρ(φ⁰)) = a + β c + O(β²): ±β differ by 2βc, ten times less at a tenth of β.
    const r = run(randomSample(22, false), [1e-3, -1e-3, 1e-4, -1e-4]);
    const [p3, m3, p4, m4] = r.points;
    const gap3 = Math.abs(p3.normRatio - m3.normRatio);
    const gap4 = Math.abs(p4.normRatio - m4.normRatio);
    expect(gap3).toBeLessThan(1e-2);
    expect(gap4 / gap3).toBeGreaterThan(0.05);
    expect(gap4 / gap3).toBeLessThan(0.2);
    expect(Math.abs(p4.cosine - m4.cosine)).toBeLessThan(1e-4);
  });

  it('draws the free phase from rest, the nudged one from φ⁰ after it, LCP’s from rest', () => {
    const r = run(figure1(FIGURE_1_W), [1e-2, 1]);
    expect(r.shownBeta).toBe(1);
    expect(r.unitIndices).toEqual([0]);
    expect(r.free.t[0]).toBe(0);
    expect(r.free.output[0]).toBe(0);
    expect(r.nudged.t[0]).toBeCloseTo(r.free.t[r.free.t.length - 1], 9);
    expect(r.nudged.output[0]).toBeCloseTo(r.free.output[r.free.output.length - 1], 9);
    expect(r.controlled.t[0]).toBe(0);
    for (const tr of [r.free, r.nudged, r.controlled]) {
      expect(tr.t.length).toBeLessThanOrEqual(241);
      expect(tr.settled).toBe(true);
    }
    // The nudge pulls the output towards its target; LCP's control reaches it (α small).
    const t = r.target;
    const free = r.free.output[r.free.output.length - 1];
    const nudged = r.nudged.output[r.nudged.output.length - 1];
    expect(Math.abs(nudged - t)).toBeLessThan(Math.abs(free - t));
  });
});

/**
 * cos(lim_{β→0} ΔW_EP, −∇L) for Figure 1's net (readout units, mse), in float64 from scratch:
 * φ⁰ by fixed-point iteration, J = −I + W diag ρ′, the EP limit h = diag(ρ′) J⁻¹ n with
 * n = Pᵀ(φ_y − t)/ρ′(φ_y), and −∇L's hidden factor J⁻ᵀ Pᵀ(φ_y − t); both times (ρ(φ⁰), x, 1).
 */
function predictedCosine(s: PlainSample): number {
  const W = s.model.W;
  const U = s.model.U;
  const b = s.model.b;
  const n = W.length;
  let phi = new Array<number>(n).fill(0);
  for (let it = 0; it < 20_000; it++)
    phi = phi.map(
      (p, i) =>
        p +
        0.2 *
          (-p + W[i].reduce((a, w, j) => a + w * Math.tanh(phi[j]), 0) + U[i][0] * s.x[0] + b[i]),
    );
  const r = phi.map(Math.tanh);
  const sl = r.map((v) => 1 - v * v);
  const J = W.map((row, i) => row.map((w, j) => w * sl[j] - (i === j ? 1 : 0)));
  const e = phi[n - 1] - s.target[0];
  const nudge = phi.map((_, i) => (i === n - 1 ? e / sl[i] : 0));
  const ep = solve2(J, nudge).map((v, i) => sl[i] * v);
  const JT = J.map((row, i) => row.map((_, j) => J[j][i]));
  const grad = solve2(
    JT,
    phi.map((_, i) => (i === n - 1 ? e : 0)),
  );
  const flat = (h: number[]) => [
    ...h.flatMap((hi) => [...r.map((rj) => hi * rj), hi * s.x[0]]),
    ...h,
  ];
  const a = flat(ep);
  const g = flat(grad);
  const dot = a.reduce((acc, v, i) => acc + v * g[i], 0);
  return dot / (Math.hypot(...a) * Math.hypot(...g));
}

/** Solve the 2×2 system A v = c. */
function solve2(A: number[][], c: number[]): number[] {
  const det = A[0][0] * A[1][1] - A[0][1] * A[1][0];
  return [(c[0] * A[1][1] - A[0][1] * c[1]) / det, (A[0][0] * c[1] - A[1][0] * c[0]) / det];
}
