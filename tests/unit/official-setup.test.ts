/**
 * The options that reproduce the paper's code (pixels, init, biases) and the presets built on
 * them, checked against independent computations: the MNIST file's gray levels, PyTorch's
 * nn.Linear bounds, and two separately stepped biases.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultConfig, parseConfig } from '../../src/engine/config';
import { zeroState } from '../../src/engine/dynamics';
import { DivergenceError } from '../../src/engine/errors';
import { initNetwork } from '../../src/engine/init';
import { disposeNetwork, type Network } from '../../src/engine/model';
import { Optimizer } from '../../src/engine/optimizer';
import { PRESETS } from '../../src/engine/presets';
import { Rng, seededStreams } from '../../src/engine/rng';
import { createDataset } from '../../src/engine/tasks';
import { loadMnistNode } from '../../src/engine/tasks/loadMnistNode';
import { testIndices, trainIndices, type MnistData } from '../../src/engine/tasks/mnistData';
import { tf } from '../../src/engine/tf';
import { makeTrainer } from '../support/trainer';

let mnist: MnistData;
beforeAll(async () => {
  mnist = await loadMnistNode();
});

const maxAbs = (a: ArrayLike<number>) =>
  Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe('the paper’s setup as options', () => {
  it('defaults keep the engine’s own setup (standardised pixels, normal init, one bias, constant-rate energy Adam)', () => {
    const c = defaultConfig();
    expect([c.pixels, c.init, c.biases, c.energyPlateau]).toEqual([
      'standardised',
      'normal',
      1,
      false,
    ]);
    expect(() => parseConfig({ biases: 3 })).toThrow(/biases/);
    expect(() => parseConfig({ init: 'xavier' })).toThrow(/init/);
  });

  it('pixels: raw gives the file’s gray levels / 255 in [0, 1]; standardised gives (x/255 − 0.1307)/0.3081', () => {
    const config = parseConfig(PRESETS['mnist-rnn-lcp-di-official'].config);
    expect(config.pixels).toBe('raw');
    const raw = createDataset(config, seededStreams(1).stream('data'), mnist);
    const std = createDataset(
      parseConfig(PRESETS['mnist-rnn-lcp-di'].config),
      seededStreams(1).stream('data'),
      mnist,
    );
    const size = 28 * 28;
    const train = trainIndices(mnist);
    const test = testIndices(mnist);
    let min = Infinity;
    let max = -Infinity;
    for (const v of raw.train.x) [min, max] = [Math.min(min, v), Math.max(max, v)];
    expect([min, max]).toEqual([0, 1]);
    for (const [split, indices, stdSplit] of [
      [raw.train, train, std.train],
      [raw.test, test, std.test],
    ] as const) {
      for (const r of [0, 7, split.count - 1]) {
        for (const p of [0, 300, 406, size - 1]) {
          const gray = mnist.pixels[indices[r] * size + p];
          expect(split.x[r * size + p]).toBeCloseTo(gray / 255, 6);
          expect(stdSplit.x[r * size + p]).toBeCloseTo((gray / 255 - 0.1307) / 0.3081, 5);
        }
      }
    }
  });

  it('init: torch draws every weight and bias in ±1/√fan-in, spread as a uniform; two biases add the input layer’s', () => {
    const draw = (extra: object): Network =>
      initNetwork(
        parseConfig({ task: 'mnist', hidden: 256, init: 'torch', ...extra }),
        784,
        10,
        new Rng(3, 'init'),
      );
    const one = draw({ biases: 1 });
    const two = draw({ biases: 2 });
    const p = one.params;
    const bound = { W: 1 / 16, U: 1 / 28, D: 1 / 16, d: 1 / 16 } as const;
    for (const name of ['W', 'U', 'D', 'd'] as const) {
      const v = p[name].dataSync();
      expect(maxAbs(v), name).toBeLessThanOrEqual(bound[name]);
      // A uniform on ±a has RMS a/√3 (a normal with that std would exceed a 8 % of the time).
      if (v.length > 1000) {
        const rms = Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0) / v.length);
        expect(rms / (bound[name] / Math.sqrt(3)), name).toBeCloseTo(1, 1);
        expect(maxAbs(v) / bound[name], name).toBeGreaterThan(0.99);
      }
    }
    // The recurrent layer's bias alone, then plus the input projection's: b₂ − b₁ ∈ ±1/28.
    const b1 = p.b.dataSync();
    const b2 = two.params.b.dataSync();
    expect(maxAbs(b1)).toBeLessThanOrEqual(1 / 16);
    expect(maxAbs(b1)).toBeGreaterThan(0.9 / 16);
    const added = Array.from(b2, (v, i) => v - b1[i]);
    expect(maxAbs(added)).toBeLessThanOrEqual(1 / 28 + 1e-7);
    expect(maxAbs(added)).toBeGreaterThan(0.9 / 28);
    // The weights are the same draws with one bias or two.
    expect(Array.from(two.params.W.dataSync())).toEqual(Array.from(p.W.dataSync()));
    disposeNetwork(one);
    disposeNetwork(two);
    // init: normal keeps zero biases.
    const normal = initNetwork(parseConfig({ hidden: 8 }), 2, 2, new Rng(3, 'init'));
    expect(maxAbs(normal.params.b.dataSync())).toBe(0);
    disposeNetwork(normal);
  });

  it('biases: 2 steps b as two biases stepped apart would (SGD, Adam, and clipping over both)', () => {
    const n = 3;
    const dirB = [0.3, -0.4, 1.2];
    const dirW = [0.5, 0, -0.25, 1, 0.1, 0, 0, 2, -1];
    const network = (): Network => ({
      activation: 'tanh',
      readout: 'separate',
      n,
      m: 1,
      k: 1,
      params: {
        W: tf.zeros([n, n]),
        U: tf.zeros([n, 1]),
        b: tf.tensor1d([0.1, 0.2, 0.3]),
        D: tf.zeros([1, n]),
        d: tf.zeros([1]),
      },
      masks: { W: null, U: null, D: null },
    });
    for (const optimizer of ['sgd', 'adam'] as const) {
      for (const clip of [0, 1]) {
        const net = network();
        const opt = new Optimizer({ optimizer, weightDecay: 0, clip, biases: 2 });
        const lr = 0.1;
        // Three updates with the same direction (Adam's moments then matter).
        for (let t = 0; t < 3; t++)
          tf.dispose(
            Object.values(
              opt.apply(net, { W: tf.tensor2d(dirW, [n, n]), b: tf.tensor1d(dirB) }, lr),
            ),
          );
        // Independent: two biases b_U, b_W, each its own parameter with the same direction.
        const normSq =
          dirW.reduce((s, v) => s + v * v, 0) + 2 * dirB.reduce((s, v) => s + v * v, 0);
        const scale = clip > 0 && Math.sqrt(normSq) > clip ? clip / Math.sqrt(normSq) : 1;
        const expected = [0.1, 0.2, 0.3].map((b0, i) => {
          const g = scale * dirB[i];
          let [m, v, one] = [0, 0, 0];
          for (let t = 1; t <= 3; t++) {
            if (optimizer === 'sgd') one += lr * g;
            else {
              m = 0.9 * m + 0.1 * g;
              v = 0.999 * v + 0.001 * g * g;
              one += (lr * (m / (1 - 0.9 ** t))) / (Math.sqrt(v / (1 - 0.999 ** t)) + 1e-8);
            }
          }
          return b0 + 2 * one; // b = b_U + b_W, each moved by `one`
        });
        const got = Array.from(net.params.b.dataSync());
        for (let i = 0; i < n; i++)
          expect(got[i], `${optimizer} clip ${clip}`).toBeCloseTo(expected[i], 5);
        opt.dispose();
        disposeNetwork(net);
      }
    }
  });

  it('stopUnsettled: off, a solve still moving after an update is learnt from instead of stopping the run', () => {
    for (const stopUnsettled of [true, false]) {
      const t = makeTrainer({
        task: 'circle',
        trainSize: 16,
        testSize: 8,
        hidden: 4,
        stopUnsettled,
      });
      t.trainBatch([0, 1, 2, 3]); // an update: the next solves judge it
      const state = zeroState(1, 4, 2);
      const unsettled = { state, steps: 800, converged: false, residual: 0.05 };
      const check = () => t.checkSettledAfterUpdate(unsettled, 'free');
      if (stopUnsettled) expect(check).toThrow(DivergenceError);
      else expect(check).not.toThrow();
      // A settled solve is never a divergence.
      expect(() => t.checkSettledAfterUpdate({ ...unsettled, converged: true })).not.toThrow();
      tf.dispose(Object.values(state));
      t.dispose();
    }
  });

  it('official presets: raw pixels, PyTorch init, two biases on the RNN, no clipping on the feed-forward nets', () => {
    for (const name of ['mnist-rnn-lcp-di-official', 'mnist-rnn-rbp-official']) {
      const c = parseConfig(PRESETS[name].config);
      expect([c.pixels, c.init, c.biases, c.stopUnsettled, c.topology], name).toEqual([
        'raw',
        'torch',
        2,
        false,
        'recurrent',
      ]);
      // The rest is the reference mapping of mnist-rnn-lcp-di / -rbp.
      const base = parseConfig(PRESETS[name.replace('-official', '')].config);
      expect({ ...c, pixels: 0, init: 0, biases: 0, stopUnsettled: 0 }).toEqual({
        ...base,
        pixels: 0,
        init: 0,
        biases: 0,
        stopUnsettled: 0,
      });
    }
    for (const name of ['mnist-ff-lcp-lf-official', 'mnist-ff-lcp-kp-official']) {
      const c = parseConfig(PRESETS[name].config);
      expect([c.pixels, c.init, c.biases, c.clip], name).toEqual(['raw', 'torch', 1, 0]);
    }
  });
});
