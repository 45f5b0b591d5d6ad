/**
 * Equilibrium propagation as a training method (method "ep", trainer.ts's epBatch): its update,
 * computed in float32 on the engine's fused dynamics (the nudge through linear feedback with
 * Q = Dᵀ, k_p = β), against ep.ts's independent float64 two-phase computation of the same
 * sample; against −∇L (cosine → 1 with symmetric W, biased without); and trained in compare mode.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig, type TrainConfig } from '../../src/engine/config';
import { compareSliced } from '../../src/engine/compare';
import { methodConfig } from '../../src/engine/compareMethods';
import { epCompareSliced } from '../../src/engine/ep';
import { drain } from '../../src/engine/sliced';
import { createDataset } from '../../src/engine/tasks';
import { seededStreams } from '../../src/engine/rng';
import { batchOf, type Trainer } from '../../src/engine/trainer';
import { tf } from '../../src/engine/tf';
import { makeTrainer } from '../support/trainer';

const BASE: Partial<TrainConfig> = {
  task: 'pattern',
  inputs: 3,
  outputs: 2,
  trainSize: 8,
  testSize: 4,
  topology: 'recurrent',
  hidden: 6,
  gain: 0.8,
  dt: 0.2,
  tol: 1e-7,
  rbpTol: 1e-7,
  maxSteps: 20_000,
  rbpMaxSteps: 20_000,
  method: 'ep',
  batch: 1,
  seed: 11,
};

/** Replace W by (W + Wᵀ)/2 (masks: none on a recurrent net). */
function symmetrise(t: Trainer): void {
  const W = t.net.params.W;
  t.net.params.W = tf.tidy(() => tf.div(tf.add(W, tf.transpose(W)), 2));
  W.dispose();
}

/** EP's cosine with −∇L on training sample 0: the trainer's (float32) and ep.ts's (float64). */
function cosines(beta: number, symmetric: boolean): { trainer: number; reference: number } {
  const t = makeTrainer({ ...BASE, beta });
  try {
    if (symmetric) symmetrise(t);
    const before = tf.memory().numTensors;
    const trainer = t.fixedBatchMetrics().cosine;
    expect(tf.memory().numTensors).toBe(before);
    const b = batchOf(t.data, t.data.train, [0]);
    try {
      const r = drain(
        epCompareSliced(
          {
            net: t.net,
            ctrl: t.ctrl,
            solver: t.solver,
            x: b.x,
            target: b.target,
            loss: t.data.loss,
            sample: 0,
          },
          { betas: [beta] },
        ),
      );
      expect(r.points[0].settled).toBe(true);
      return { trainer, reference: r.points[0].cosine };
    } finally {
      tf.dispose([b.x, b.target]);
    }
  } finally {
    t.dispose();
  }
}

describe('EP as a training method', () => {
  it('symmetric W: its update agrees with the float64 two-phase EP and tends to −∇L', () => {
    const coarse = cosines(0.1, true);
    const fine = cosines(0.01, true);
    expect(Math.abs(fine.trainer - fine.reference)).toBeLessThan(2e-3);
    expect(Math.abs(coarse.trainer - coarse.reference)).toBeLessThan(2e-2);
    expect(fine.trainer).toBeGreaterThan(0.995);
    // Smaller β, closer to the gradient (the nudge's bias is O(β)).
    expect(1 - fine.trainer).toBeLessThan(1 - coarse.trainer + 1e-6);
  });

  it('asymmetric W: biased however small β is, as the float64 computation says', () => {
    const fine = cosines(0.01, false);
    expect(Math.abs(fine.trainer - fine.reference)).toBeLessThan(2e-3);
    expect(fine.trainer).toBeLessThan(0.99);
  });

  it('trains in compare mode beside LCP-DI from the same weights, and refuses output units', () => {
    const base = parseConfig({
      task: 'circle',
      trainSize: 64,
      testSize: 16,
      topology: 'recurrent',
      hidden: 8,
      gain: 0.5,
      dt: 0.5,
      tol: 1e-5,
      maxSteps: 2000,
      optimizer: 'adam',
      lr: 0.05,
      batch: 16,
      seed: 5,
    });
    const data = createDataset(base, seededStreams(base.seed).stream('data'));
    const before = tf.memory().numTensors;
    const r = drain(compareSliced(base, data, { methods: ['lcp-di', 'ep'], updates: 40 }));
    expect(tf.memory().numTensors).toBe(before);
    const ep = r.series.find((s) => s.method === 'ep')!;
    expect(ep.status).toBe('done');
    expect(ep.points).toHaveLength(40);
    const first = ep.points.slice(0, 5).reduce((a, p) => a + p.loss, 0) / 5;
    const last = ep.points.slice(-5).reduce((a, p) => a + p.loss, 0) / 5;
    expect(last).toBeLessThan(0.8 * first);
    for (const p of ep.points) expect(p.control).toBe(0);
    const units = methodConfig({ ...base, readout: 'units' }, 'ep');
    expect('reason' in units && units.reason).toMatch(/readout/);
  });
});
