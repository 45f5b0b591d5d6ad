import { describe, expect, it } from 'vitest';
import type { TrainConfig } from '../../src/engine/config';
import { presentation, type DynState } from '../../src/engine/dynamics';
import { boundedProduct, learnQ } from '../../src/engine/feedback';
import { layeredMasks } from '../../src/engine/model';
import { seededStreams } from '../../src/engine/rng';
import { tf } from '../../src/engine/tf';
import { batchOf } from '../../src/engine/trainer';
import { makeTrainer } from '../support/trainer';

type M = number[][];

/**
 * The noisy phase and Q update of DESIGN.md §1 (item 3) in float64 plain arrays, written from
 * the equations, fed the same standard normals ξ (in the order learnQ draws them: ε₀, then one
 * per step).
 */
function referenceQ(a: {
  W: M;
  D: M;
  d: number[];
  Q: M;
  drive: M;
  target: M;
  loss: 'mse' | 'cross-entropy';
  phi: M;
  y: M;
  uI: M;
  uStar: M;
  normals: M[];
  c: Pick<
    TrainConfig,
    | 'dt'
    | 'noiseSigma'
    | 'noiseTimeScale'
    | 'tauEps'
    | 'tauQ'
    | 'lambdaQ'
    | 'tauPhi'
    | 'tauY'
    | 'tauU'
    | 'alpha'
    | 'ki'
    | 'kp'
  >;
}): M {
  const { c } = a;
  const n = a.W.length;
  const k = a.D.length;
  const B = a.phi.length;
  const s = c.noiseTimeScale;
  const dtS = c.dt / (s * s);
  const sig = c.noiseSigma;
  const phi = a.phi.map((r) => [...r]);
  const y = a.y.map((r) => [...r]);
  const uI = a.uI.map((r) => [...r]);
  const eps = a.normals[0].map((r) => [...r]);
  const A: M = Array.from({ length: n }, () => new Array<number>(k).fill(0));
  for (let t = 1; t < a.normals.length; t++) {
    const xi = a.normals[t];
    for (let b = 0; b < B; b++) {
      const r = phi[b].map(Math.tanh);
      let g: number[];
      if (a.loss === 'mse') g = y[b].map((v, o) => v - a.target[b][o]);
      else {
        const mx = Math.max(...y[b]);
        const e = y[b].map((v) => Math.exp(v - mx));
        const z = e.reduce((p, q) => p + q, 0);
        g = e.map((v, o) => v / z - a.target[b][o]);
      }
      const u = uI[b].map((v, o) => c.ki * v - c.kp * g[o]);
      const hidden = a.Q.map(
        (row, i) => row.reduce((acc, q, o) => acc + q * u[o], 0) + sig * eps[b][i],
      );
      for (let i = 0; i < n; i++)
        for (let o = 0; o < k; o++) A[i][o] -= (hidden[i] * (u[o] - a.uStar[b][o])) / (sig * sig);
      for (let i = 0; i < n; i++) {
        const rec = a.W[i].reduce((acc, w, j) => acc + w * r[j], 0);
        phi[b][i] += (c.dt / c.tauPhi) * (-phi[b][i] + rec + a.drive[b][i] + hidden[i]);
        eps[b][i] += (s / c.tauEps) * (-dtS * eps[b][i] + Math.sqrt(dtS) * xi[b][i]);
      }
      for (let o = 0; o < k; o++) {
        const out = a.D[o].reduce((acc, w, j) => acc + w * r[j], 0) + a.d[o];
        y[b][o] += (dtS / c.tauY) * (-y[b][o] + out + u[o]);
        uI[b][o] += (dtS / c.tauU) * (-g[o] - c.alpha * uI[b][o]);
      }
    }
  }
  return a.Q.map((row, i) =>
    row.map((q, o) => q + (c.dt / c.tauQ) * (A[i][o] / B - c.lambdaQ * q)),
  );
}

describe('learnQ', () => {
  it.each([
    { task: 'teacher', kp: 0.3 },
    { task: 'circle', kp: 0 },
  ] as const)(
    'matches a float64 computation of the noisy phase ($task, k_p = $kp)',
    ({ task, kp }) => {
      const t = makeTrainer({
        task,
        inputs: 3,
        outputs: 2,
        trainSize: 16,
        testSize: 4,
        topology: 'layered',
        layers: [4, 3],
        controller: 'linear-feedback',
        learnQ: true,
        alpha: 0.7,
        kp,
        tauU: 3,
        tauY: 1.5,
        dt: 0.5,
        noiseSigma: 0.05,
        noiseTimeScale: 3,
        tauEps: 2,
        noiseSteps: 9,
        tauQ: 20,
        lambdaQ: 0.1,
        seed: 5,
      });
      const B = 5;
      const { n, k } = t.net;
      const batch = batchOf(t.data, t.data.train, [0, 1, 2, 3, 4]);
      const p = presentation(t.net, batch.x, batch.target, t.data.loss);
      const draw = seededStreams(11).stream('states');
      const rand = (rows: number, cols: number, std: number) =>
        tf.tensor2d(draw.fillNormal(new Float32Array(rows * cols), std), [rows, cols]);
      const eq: DynState = {
        phi: rand(B, n, 1),
        y: rand(B, k, 1),
        uI: rand(B, k, 0.5),
        psi: tf.zeros([B, n]),
      };
      const uStar = rand(B, k, 0.5);
      const arr = (x: tf.Tensor) => x.arraySync() as M;
      // The normals learnQ will draw: tf.randomNormal seeded from the same stream, in order.
      const twin = seededStreams(21).stream('noise');
      const normals = Array.from({ length: t.config.noiseSteps + 1 }, () =>
        arr(tf.randomNormal([B, n], 0, 1, 'float32', twin.nextUint32())),
      );
      const want = referenceQ({
        W: arr(t.net.params.W),
        D: arr(t.net.params.D),
        d: t.net.params.d.arraySync() as number[],
        Q: arr(t.net.params.Q!),
        drive: arr(p.drive),
        target: arr(p.target),
        loss: t.data.loss,
        phi: arr(eq.phi),
        y: arr(eq.y),
        uI: arr(eq.uI),
        uStar: arr(uStar),
        normals,
        c: { ...t.config },
      });
      const before = arr(t.net.params.Q!);
      learnQ(t.net, t.ctrl, t.config, p, eq, uStar, seededStreams(21).stream('noise'));
      const got = arr(t.net.params.Q!);
      // Q moved (the check is not vacuous), and by what the float64 computation says.
      const moved = Math.max(...got.flat().map((v, i) => Math.abs(v - before.flat()[i])));
      const scale = Math.max(...want.flat().map((v, i) => Math.abs(v - before.flat()[i])));
      expect(moved).toBeGreaterThan(1e-3);
      for (let i = 0; i < got.flat().length; i++)
        expect(Math.abs(got.flat()[i] - want.flat()[i])).toBeLessThan(1e-4 * scale + 1e-6);
      t.dispose();
    },
  );

  it('boundedProduct is r Wᵀ for a layered mask, a dense W and an empty mask', () => {
    const rng = seededStreams(4).stream('w');
    const n = 9;
    const masks = [layeredMasks([2, 3, 4], 1, 1).W, null, new Float32Array(n * n)];
    for (const m of masks) {
      const mask = m ? tf.tensor2d(m, [n, n]) : null;
      const dense = tf.tensor2d(rng.fillNormal(new Float32Array(n * n)), [n, n]);
      const W = mask ? tf.mul(dense, mask) : dense;
      const r = tf.tensor2d(rng.fillNormal(new Float32Array(5 * n)), [5, n]);
      const Wa = W.arraySync() as M;
      const want = (r.arraySync() as M).map((row) =>
        Wa.map((wRow) => wRow.reduce((acc, w, j) => acc + w * row[j], 0)),
      );
      const product = boundedProduct(W, mask);
      const got = product.times(r).arraySync() as M;
      product.dispose();
      expect(got.length).toBe(5);
      for (let b = 0; b < 5; b++)
        for (let i = 0; i < n; i++) expect(got[b][i]).toBeCloseTo(want[b][i], 5);
      tf.dispose([dense, W, r, ...(mask ? [mask] : [])]);
    }
  });
});
