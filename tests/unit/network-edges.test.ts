/**
 * The network view's edge model picks the `limit` strongest edges (relative to their matrix's
 * largest |w|): checked against sorting every entry, with ties, zeros, masked entries,
 * self-loops and non-finite values among them.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/rng';
import { drain } from '../../src/engine/sliced';
import { networkEdgeSteps } from '../../src/ui/views/networkEdgeModel';
import { networkLayout } from '../../src/ui/views/networkLayout';
import type { Matrix, WeightsSnapshot } from '../../src/worker/protocol';

function matrix(rows: number, cols: number, rng: Rng, levels: number): Matrix {
  // Few distinct magnitudes: many ties at the threshold.
  const data = Float32Array.from({ length: rows * cols }, () => {
    const r = rng.uniform();
    if (r < 0.1) return 0;
    return (rng.uniform() < 0.5 ? -1 : 1) * (1 + Math.floor(rng.uniform() * levels));
  });
  return { rows, cols, data };
}

/** Every edge's relative magnitude, by plain sorting. */
function bruteForce(w: WeightsSnapshot): number[] {
  const all: number[] = [];
  for (const key of ['W', 'U', 'D'] as const) {
    const mat = w.params[key]!;
    let max = 0;
    for (const v of mat.data) if (Number.isFinite(v)) max = Math.max(max, Math.abs(v));
    mat.data.forEach((v, idx) => {
      const i = Math.floor(idx / mat.cols);
      const j = idx % mat.cols;
      if (v === 0 || !Number.isFinite(v)) return;
      if (key === 'W' && (i === j || (w.maskW && w.maskW[idx] === 0))) return;
      all.push(Math.abs(v) * (1 / max));
    });
  }
  return all.sort((a, b) => a - b);
}

describe('network edge model', () => {
  it.each([
    [7, 40],
    [3, 300],
    [1000, 500],
    [50, 5000],
  ])('keeps the strongest edges (%i magnitudes, limit %i)', (levels, limit) => {
    const rng = new Rng(levels + limit);
    const [m, n, k] = [20, 30, 4];
    const W = matrix(n, n, rng, levels);
    W.data[5] = Number.NaN;
    const maskW = Float32Array.from({ length: n * n }, () => (rng.uniform() < 0.8 ? 1 : 0));
    const weights: WeightsSnapshot = {
      version: 1,
      params: { W, U: matrix(n, m, rng, levels), D: matrix(k, n, rng, levels) },
      lastUpdate: null,
      appliedStep: null,
      lastUpdateAt: null,
      maskW,
      layers: [n],
    };
    const layout = networkLayout({ m, n, k }, [n], false, { width: 600, height: 400 });
    const { edges, total } = drain(networkEdgeSteps(weights, layout, limit));
    const expected = bruteForce(weights);
    expect(total).toBe(expected.length);
    const strongest = expected.slice(-limit);
    expect(edges.map((e) => e.s)).toEqual(strongest);
    // Sorted weakest first, each edge's weight where the edge says.
    for (const e of edges) {
      const mat = weights.params[e.param]!;
      expect(mat.data[e.i * mat.cols + e.j]).toBe(e.w);
    }
  });
});
