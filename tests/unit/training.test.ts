import { describe, expect, it } from 'vitest';
import { presentation } from '../../src/engine/dynamics';
import { feedbackAngles, learnQ, linearFeedbackAlignment } from '../../src/engine/feedback';
import { controlsAt } from '../../src/engine/learning';
import { tf } from '../../src/engine/tf';
import { batchOf } from '../../src/engine/trainer';
import { makeTrainer } from '../support/trainer';

const withoutTime = <T extends { seconds: number; trainSeconds: number; evalSeconds: number }>(
  m: T,
) => ({ ...m, seconds: 0, trainSeconds: 0, evalSeconds: 0 });

describe('training', () => {
  it('on one pattern drives the control below 1 % of its start, and the free net then fits it', () => {
    const t = makeTrainer({
      task: 'pattern',
      inputs: 3,
      outputs: 2,
      hidden: 10,
      alpha: 1,
      tauU: 10,
      dt: 0.5,
      optimizer: 'sgd',
      lr: 0.5,
      batch: 1,
      epochs: 200,
      seed: 4,
    });
    const first = t.trainEpoch();
    let last = first;
    for (let e = 1; e < 200 && last.control > 0.01 * first.control; e++) last = t.trainEpoch();
    expect(last.control).toBeLessThan(0.01 * first.control);
    expect(last.testLoss).toBeLessThan(0.01 * first.testLoss);
    t.dispose();
  });

  it('is deterministic: the same seed gives identical metrics and weights; another seed does not', () => {
    const run = (seed: number) => {
      const t = makeTrainer({
        task: 'xor',
        trainSize: 64,
        testSize: 32,
        topology: 'layered',
        layers: [6],
        alpha: 2,
        tauU: 20,
        dt: 1,
        batch: 16,
        epochs: 2,
        seed,
      });
      const metrics = [t.trainEpoch(), t.trainEpoch()].map(withoutTime);
      const W = Array.from(t.net.params.U.dataSync());
      t.dispose();
      return { metrics, W };
    };
    const a = run(3);
    expect(run(3)).toEqual(a);
    expect(run(4).W).not.toEqual(a.W);
  });

  it('adding Q to the network does not shift the data or W (separate streams)', () => {
    const di = makeTrainer({
      task: 'circle',
      trainSize: 16,
      testSize: 8,
      controller: 'dynamic-inversion',
      seed: 5,
    });
    const lf = makeTrainer({
      task: 'circle',
      trainSize: 16,
      testSize: 8,
      controller: 'linear-feedback',
      seed: 5,
    });
    expect(Array.from(lf.net.params.W.dataSync())).toEqual(Array.from(di.net.params.W.dataSync()));
    expect(Array.from(lf.data.train.x)).toEqual(Array.from(di.data.train.x));
    di.dispose();
    lf.dispose();
  });

  it('noise-based Q learning raises the alignment of Q u* with M u* on a fixed network', () => {
    // A fast output integrator (τ_u = 0.5) so that u answers the noise within the noisy phase;
    // a 64-sample batch and τ_Q = 500 average out the rule's sampling noise.
    const t = makeTrainer({
      task: 'teacher',
      inputs: 3,
      outputs: 2,
      trainSize: 64,
      testSize: 8,
      topology: 'layered',
      layers: [6, 6],
      gain: 1,
      controller: 'linear-feedback',
      alpha: 1,
      tauU: 0.5,
      dt: 0.5,
      tauQ: 500,
      noiseSteps: 400,
      seed: 2,
    });
    const batch = batchOf(
      t.data,
      t.data.train,
      Array.from({ length: 64 }, (_, i) => i),
    );
    const p = presentation(t.net, batch.x, batch.target, t.data.loss);
    const alignmentNow = () => {
      const free = t.freeEquilibrium(p, t.solver);
      const controlled = t.controlledEquilibrium(p, free.state);
      const c = controlsAt(t.net, t.ctrl, p, controlled.state);
      const a = linearFeedbackAlignment(t.net, controlled.state.phi, c.u, t.solver);
      return { a, controlled, c, free };
    };
    const start = alignmentNow();
    const initial = start.a;
    let last = start;
    for (let i = 0; i < 30; i++) {
      learnQ(t.net, t.ctrl, t.config, p, last.controlled.state, last.c.u, t.streams.noise);
      tf.dispose([
        ...Object.values(last.controlled.state),
        ...Object.values(last.free.state),
        last.c.u,
        last.c.psi,
      ]);
      last = alignmentNow();
    }
    expect(last.a).toBeGreaterThan(initial + 0.5);
    expect(last.a).toBeGreaterThan(0.7);
    t.dispose();
  });

  it('Kolen–Pollack learning closes the angle between B and Wᵀ', () => {
    const t = makeTrainer({
      task: 'teacher',
      inputs: 3,
      outputs: 2,
      trainSize: 64,
      testSize: 8,
      topology: 'layered',
      layers: [8, 8],
      gain: 1,
      controller: 'dynamic-inversion-kp',
      alpha: 1,
      tauU: 10,
      dt: 0.5,
      lr: 0.01,
      lambdaKP: 0.01,
      batch: 8,
      seed: 6,
    });
    const before = feedbackAngles(t.net).B;
    for (let e = 0; e < 5; e++) t.trainEpoch();
    const after = feedbackAngles(t.net).B;
    expect(before).toBeGreaterThan(60);
    expect(after).toBeLessThan(before - 20);
    t.dispose();
  });

  it("Kolen–Pollack: F − Dᵀ and B − Wᵀ only decay, (1 − λ)^t, and F stays on Dᵀ's connections", () => {
    const lambda = 0.01;
    const t = makeTrainer({
      task: 'teacher',
      inputs: 3,
      outputs: 2,
      trainSize: 32,
      testSize: 8,
      topology: 'layered',
      layers: [6, 5],
      gain: 1,
      controller: 'dynamic-inversion-kp',
      alpha: 1,
      tauU: 10,
      dt: 0.5,
      lr: 0.01,
      lambdaKP: lambda,
      clip: 0.05,
      batch: 8,
      seed: 3,
    });
    // Plain arrays, read independently of the engine: gap(P, R) = P − Rᵀ entry by entry.
    const read = (name: 'W' | 'D' | 'B' | 'F') => t.net.params[name]!.arraySync() as number[][];
    const gap = (P: number[][], R: number[][]) => P.map((row, i) => row.map((v, j) => v - R[j][i]));
    const before = { F: gap(read('F'), read('D')), B: gap(read('B'), read('W')) };
    const F0 = read('F');
    // The first layer's 6 units are not read out: F has no connection there.
    for (let i = 0; i < 6; i++) expect(F0[i].every((v) => v === 0)).toBe(true);
    expect(
      F0.slice(6)
        .flat()
        .some((v) => v !== 0),
    ).toBe(true);
    for (let e = 0; e < 2; e++) t.trainEpoch();
    const decay = (1 - lambda) ** t.updates;
    expect(t.updates).toBe(8);
    const after = { F: gap(read('F'), read('D')), B: gap(read('B'), read('W')) };
    for (const name of ['F', 'B'] as const) {
      const want = before[name].flat().map((v) => decay * v);
      const got = after[name].flat();
      const scale = Math.max(...want.map(Math.abs));
      for (let i = 0; i < got.length; i++)
        expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5 * scale + 1e-7);
    }
    for (let i = 0; i < 6; i++) expect(read('F')[i].every((v) => v === 0)).toBe(true);
    t.dispose();
  });

  it('does not leak tensors over an epoch', () => {
    const t = makeTrainer({
      task: 'circle',
      trainSize: 32,
      testSize: 16,
      hidden: 6,
      batch: 8,
      controller: 'linear-feedback',
      learnQ: true,
      noiseSteps: 10,
      seed: 1,
    });
    t.trainEpoch();
    const before = tf.memory().numTensors;
    t.trainEpoch();
    expect(tf.memory().numTensors).toBe(before);
    t.dispose();
  });
});
