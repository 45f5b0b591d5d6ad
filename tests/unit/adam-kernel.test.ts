/**
 * The fused Adam step on tfjs-wasm's heap (src/engine/kernels/wasm/adam.ts) against the op
 * sequence it replaces: the same bits, with and without clipping, weight decay, moments, for
 * lengths that are and are not multiples of four; and the optimiser with it against the optimiser
 * without it.
 */
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADAM } from '../../src/engine/adam';
import { fusedAdamStep, setFusedAdam } from '../../src/engine/kernels';
import { networkFromArrays, type Network } from '../../src/engine/model';
import { Optimizer } from '../../src/engine/optimizer';
import { Rng } from '../../src/engine/rng';
import { selectBackend, tf, type Tensor } from '../../src/engine/tf';

function randomTensor(rng: Rng, shape: number[], scale: number): Tensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Array.from({ length: size }, () => rng.normal() * scale),
    shape,
  );
}

/** optimizer.ts's op sequence for one parameter (no mask). */
function reference(
  w: Tensor,
  dir: Tensor,
  m: Tensor | null,
  v: Tensor | null,
  a: { scale: number; decay: number; rate: number; t: number },
): Float32Array[] {
  return tf.tidy(() => {
    let g = a.scale === 1 ? dir : tf.mul(a.scale, dir);
    if (a.decay > 0) g = tf.sub(g, tf.mul(a.decay, w));
    const m2 = tf.add(tf.mul(ADAM.beta1, m ?? tf.zerosLike(g)), tf.mul(1 - ADAM.beta1, g));
    const v2 = tf.add(
      tf.mul(ADAM.beta2, v ?? tf.zerosLike(g)),
      tf.mul(1 - ADAM.beta2, tf.square(g)),
    );
    const mHat = tf.div(m2, 1 - Math.pow(ADAM.beta1, a.t));
    const vHat = tf.div(v2, 1 - Math.pow(ADAM.beta2, a.t));
    const step = tf.mul(a.rate, tf.div(mHat, tf.add(tf.sqrt(vHat), ADAM.eps)));
    return [tf.add(w, step), step, m2, v2].map((t) => Float32Array.from(t.dataSync()));
  });
}

describe('fused Adam step (wasm)', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });
  afterAll(async () => {
    await selectBackend('cpu');
  });

  it.each([
    { shape: [256, 256], scale: 1, decay: 0, moments: true, t: 17 },
    { shape: [7], scale: 0.37, decay: 0, moments: false, t: 1 },
    { shape: [3, 5], scale: 1, decay: 1e-3, moments: true, t: 3 },
    { shape: [10, 257], scale: 0.8, decay: 5e-4, moments: true, t: 1000 },
  ])('gives the op sequence’s bits: $shape, s=$scale, λ=$decay, moments $moments', (c) => {
    const rng = new Rng(7);
    const w = randomTensor(rng, c.shape, 0.3);
    const dir = randomTensor(rng, c.shape, 0.01);
    // Second moments are positive; tiny ones make √v̂ + ε and the division sensitive.
    const m = c.moments ? randomTensor(rng, c.shape, 0.01) : null;
    const v = c.moments
      ? tf.mul(randomTensor(rng, c.shape, 1e-3), randomTensor(rng, c.shape, 1e-3))
      : null;
    const rate = 3e-3;
    const want = reference(w, dir, m, v, { ...c, rate });
    const out = fusedAdamStep(w, dir, m, v, {
      scale: c.scale,
      decay: c.decay,
      rate,
      c1: 1 - Math.pow(ADAM.beta1, c.t),
      c2: 1 - Math.pow(ADAM.beta2, c.t),
    });
    expect(out).not.toBeNull();
    const got = out!.map((t) => Float32Array.from(t.dataSync()));
    for (let i = 0; i < 4; i++) expect(got[i]).toEqual(want[i]);
    // It computed something: the weights moved.
    expect(got[0]).not.toEqual(Float32Array.from(w.dataSync()));
    tf.dispose([w, dir, ...(m ? [m] : []), ...(v ? [v] : []), ...out!]);
  });

  it('the optimiser moves the weights by the same bits with it as without it', () => {
    const run = (fused: boolean): Float32Array[] => {
      setFusedAdam(fused);
      const rng = new Rng(11);
      const n = 30;
      const rows = (r: number, c: number, s: number) =>
        Array.from({ length: r }, () => Array.from({ length: c }, () => rng.normal() * s));
      const net: Network = networkFromArrays({
        activation: 'tanh',
        W: rows(n, n, 0.2),
        U: rows(n, 3, 1),
        b: rows(1, n, 0.1)[0],
        D: rows(4, n, 0.3),
        d: rows(1, 4, 0.1)[0],
      });
      const opt = new Optimizer({ optimizer: 'adam', weightDecay: 1e-4, clip: 0.5, biases: 2 });
      for (let step = 0; step < 5; step++) {
        const dir = {
          W: tf.tensor2d(rows(n, n, 0.05)),
          U: tf.tensor2d(rows(n, 3, 0.05)),
          b: tf.tensor1d(rows(1, n, 0.05)[0]),
          D: tf.tensor2d(rows(4, n, 0.05)),
          d: tf.tensor1d(rows(1, 4, 0.05)[0]),
        };
        const applied = opt.apply(net, dir, 0.01);
        tf.dispose([...Object.values(dir), ...Object.values(applied)]);
      }
      const out = (['W', 'U', 'b', 'D', 'd'] as const).map((k) =>
        Float32Array.from(net.params[k].dataSync()),
      );
      opt.dispose();
      tf.dispose(Object.values(net.params));
      tf.dispose(Object.values(net.masks).filter((t): t is Tensor => t !== null));
      return out;
    };
    const ops = run(false);
    const fused = run(true);
    expect(fused).toEqual(ops);
  });
});
