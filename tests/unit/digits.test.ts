import { beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/engine/config';
import { confusionMatrix, digitResponseSliced } from '../../src/engine/digits';
import { presentation } from '../../src/engine/dynamics';
import { controlsAt } from '../../src/engine/learning';
import { meanHalfSquaredNorm } from '../../src/engine/metrics';
import { PRESETS } from '../../src/engine/presets';
import { Simulation } from '../../src/engine/simulation';
import { drain } from '../../src/engine/sliced';
import { loadMnistNode } from '../../src/engine/tasks/loadMnistNode';
import type { MnistData } from '../../src/engine/tasks/mnistData';
import { MNIST_MEAN, MNIST_STD, mnistInputs } from '../../src/engine/tasks/mnistTask';
import { DIGIT_SIDE, padToDigit } from '../../src/engine/tasks/padImage';
import { readFloats, tf } from '../../src/engine/tf';

const paper = -MNIST_MEAN / MNIST_STD;
const ink = (1 - MNIST_MEAN) / MNIST_STD;

/** A side×side image with ink 1 on rows [r0, r1) × cols [c0, c1). */
function rect(side: number, r0: number, r1: number, c0: number, c1: number): Float32Array {
  const px = new Float32Array(side * side);
  for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) px[r * side + c] = 1;
  return px;
}

/** Rows and columns of a DIGIT_SIDE² image whose value is above `level`. */
function extent(px: Float32Array, level: number) {
  const rows = new Set<number>();
  const cols = new Set<number>();
  px.forEach((v, i) => {
    if (v > level) {
      rows.add(Math.floor(i / DIGIT_SIDE));
      cols.add(i % DIGIT_SIDE);
    }
  });
  return {
    rows: [Math.min(...rows), Math.max(...rows)],
    cols: [Math.min(...cols), Math.max(...cols)],
  };
}

describe('confusion matrix', () => {
  it('counts true class (row) against predicted class (column), as counted by hand', () => {
    // Truth 0,0,1,2,2,2 predicted 0,1,1,2,0,2 → row 0: [1,1,0]; row 1: [0,1,0]; row 2: [1,0,2].
    const m = confusionMatrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3);
    expect(Array.from(m)).toEqual([1, 1, 0, 0, 1, 0, 1, 0, 2]);
    expect(() => confusionMatrix([0, 3], [0, 0], 3)).toThrow(/class out of/);
    expect(() => confusionMatrix([0], [0, 1], 3)).toThrow(/labels/);
  });
});

describe('a drawing made to look like an MNIST digit', () => {
  it('a 10×10 block in a corner becomes a 20×20 block centred in 28×28, standardised', () => {
    const d = padToDigit({ rows: 28, cols: 28, pixels: rect(28, 0, 10, 0, 10) })!;
    // The network's inputs: standardised like the dataset, or raw for a raw-pixels network.
    const x = mnistInputs(d.pixels, 'standardised');
    const raw = mnistInputs(d.pixels, 'raw');
    expect(x.length).toBe(784);
    for (let r = 0; r < 28; r++)
      for (let c = 0; c < 28; c++) {
        const inside = r >= 4 && r < 24 && c >= 4 && c < 24;
        expect(d.pixels[r * 28 + c]).toBe(inside ? 1 : 0);
        expect(x[r * 28 + c]).toBeCloseTo(inside ? ink : paper, 5);
        expect(raw[r * 28 + c]).toBe(inside ? 1 : 0);
      }
  });

  it('keeps the aspect: a tall 40×20 stroke on a 280×280 pad fills 20 rows and 10 columns at the centre', () => {
    const d = padToDigit({ rows: 280, cols: 280, pixels: rect(280, 200, 240, 30, 50) })!;
    const e = extent(d.pixels, 0.5);
    expect(e.rows).toEqual([4, 23]);
    // Centre of mass 4.5 of a 10-wide block moves to 13.5: columns 9…18.
    expect(e.cols).toEqual([9, 18]);
    let mass = 0;
    d.pixels.forEach((v) => (mass += v));
    expect(mass).toBeCloseTo(200, 3);
  });

  it('a blank pad is no digit', () => {
    expect(padToDigit({ rows: 28, cols: 28, pixels: new Float32Array(784) })).toBeNull();
  });
});

describe('the network on digits', () => {
  let mnist: MnistData;
  beforeAll(async () => {
    mnist = await loadMnistNode();
  });
  const small = () =>
    new Simulation(
      parseConfig({
        ...PRESETS['mnist-rnn-lcp-di'].config,
        hidden: 24,
        batch: 16,
        limit: 48,
        seed: 3,
      }),
      mnist,
    );

  it('the free and controlled response to a test digit are the free and controlled solves of the same input', () => {
    const sim = small();
    const { trainer, data } = sim;
    const x = data.test.x.slice(0, data.m);
    const label = data.test.labels![0];
    const target = (label + 3) % 10;
    const r = drain(digitResponseSliced(trainer, x, target));
    // The same solves, by hand.
    const xs = tf.tensor2d(x, [1, data.m]);
    const hot = new Float32Array(10);
    hot[target] = 1;
    const onehot = tf.tensor2d(hot, [1, 10]);
    const p = presentation(trainer.net, xs, onehot, data.loss);
    const free = trainer.freeEquilibrium(p, trainer.solver);
    const controlled = trainer.controlledEquilibrium(p, free.state);
    const c = controlsAt(trainer.net, trainer.ctrl, p, controlled.state);
    const yFree = readFloats(free.state.y);
    const yCtrl = readFloats(controlled.state.y);
    for (let o = 0; o < 10; o++) {
      expect(r.freeScores[o]).toBeCloseTo(yFree[o], 5);
      expect(r.controlledScores![o]).toBeCloseTo(yCtrl[o], 5);
    }
    expect(r.controlPsi).toBeCloseTo(meanHalfSquaredNorm(c.psi), 6);
    expect(r.controlPsi).toBeGreaterThan(0);
    expect(r.target).toBe(target);
    expect(r.prediction).toBe(yFree.indexOf(Math.max(...yFree)));
    // Control pulls the output toward the class asked for.
    expect(r.controlledProbs![target]).toBeGreaterThan(r.freeProbs[target]);
    expect(r.freeProbs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    // Default target: the free prediction.
    expect(drain(digitResponseSliced(trainer, x, null)).target).toBe(r.prediction);
    expect(() => drain(digitResponseSliced(trainer, x, 10))).toThrow(/target class/);
    tf.dispose([xs, onehot, p.drive, c.u, c.psi, ...Object.values(free.state)]);
    tf.dispose(Object.values(controlled.state));
    sim.dispose();
  });

  it('an epoch of Train ends with the test split evaluated: confusion counts match the accuracy', () => {
    const sim = small();
    const per = sim.trainer.batchesPerEpoch;
    expect(per).toBe(3);
    expect(sim.updatesLeftInEpoch).toBe(3);
    sim.trainStep();
    expect(sim.updatesLeftInEpoch).toBe(2);
    expect(sim.pendingTestEvaluation).toBeNull();
    sim.trainStep();
    const last = sim.trainStep();
    const e = sim.pendingTestEvaluation!;
    expect(e.epoch).toBe(1);
    expect(e.updates).toBe(3);
    expect(sim.updatesLeftInEpoch).toBe(3);
    const total = e.confusion.reduce((a, b) => a + b, 0);
    expect(total).toBe(sim.data.test.count);
    let right = 0;
    for (let t = 0; t < 10; t++) right += e.confusion[t * 10 + t];
    expect(right / total).toBeCloseTo(e.accuracy, 6);
    expect(last.testAccuracy).toBeCloseTo(e.accuracy, 6);
    // Row t sums to the test samples of class t.
    const perClass = new Array(10).fill(0);
    for (const l of sim.data.test.labels!) perClass[l]++;
    for (let t = 0; t < 10; t++)
      expect(e.confusion.slice(t * 10, t * 10 + 10).reduce((a, b) => a + b, 0)).toBe(perClass[t]);
    sim.dispose();
  });

  it('a stop during the test evaluation leaves it missing, and it can be run on its own', () => {
    const sim = small();
    sim.trainStep();
    sim.trainStep();
    const work = sim.trainStepSliced();
    for (;;) {
      const r = work.next();
      expect(r.done).toBe(false);
      if (!r.done && r.value.stage === 'evaluate') break;
    }
    const points = sim.pendingLearning.length;
    work.return(undefined as never);
    // The update stands, with its learning point; its epoch's evaluation does not.
    expect(sim.pendingLearning.length).toBe(points + 1);
    expect(sim.pendingLearning.at(-1)!.testLoss ?? null).toBeNull();
    expect(sim.trainer.updates).toBe(3);
    expect(sim.trainer.epoch).toBe(1);
    expect(sim.pendingTestEvaluation).toBeNull();
    expect(sim.testEvaluationMissing).toBe(true);
    const test = drain(sim.testEvaluationSliced());
    expect(sim.testEvaluationMissing).toBe(false);
    expect(sim.pendingTestEvaluation!.epoch).toBe(1);
    expect(sim.pendingTestEvaluation!.accuracy).toBe(test.accuracy);
    sim.dispose();
  });
});
