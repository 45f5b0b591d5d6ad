/**
 * The wasm backend's transposed products (kernels/wasm/matmul.ts) against a float64 product in
 * plain loops, for each transpose flag, both orders of computing them, and a batched product.
 */
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fastTransposedMatMul, productCosts } from '../../src/engine/kernels/wasm/matmul';
import { Rng } from '../../src/engine/rng';
import { selectBackend, tf } from '../../src/engine/tf';

/** op(A)·op(B) for batches of row-major matrices, in float64. */
function reference(
  a: Float32Array,
  b: Float32Array,
  shapeA: number[],
  shapeB: number[],
  ta: boolean,
  tb: boolean,
): Float64Array {
  const [ar, ac] = shapeA.slice(-2);
  const [br, bc] = shapeB.slice(-2);
  const batches = a.length / (ar * ac);
  const [m, kk] = ta ? [ac, ar] : [ar, ac];
  const n = tb ? br : bc;
  const out = new Float64Array(batches * m * n);
  for (let q = 0; q < batches; q++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < kk; p++) {
          const x = ta ? a[q * ar * ac + p * ac + i] : a[q * ar * ac + i * ac + p];
          const y = tb ? b[q * br * bc + j * bc + p] : b[q * br * bc + p * bc + j];
          s += x * y;
        }
        out[(q * m + i) * n + j] = s;
      }
  return out;
}

const cases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
  // x·Uᵀ with a wide U: computed as (U·xᵀ)ᵀ.
  { a: [8, 40], b: [30, 40], ta: false, tb: true },
  // A small U: transposed directly.
  { a: [30, 12], b: [6, 12], ta: false, tb: true },
  // δᵀx, the outer products of an update.
  { a: [8, 30], b: [8, 40], ta: true, tb: false },
  { a: [12, 8], b: [30, 12], ta: true, tb: true },
  { a: [40, 30], b: [5, 40], ta: true, tb: true },
  { a: [2, 30], b: [20, 2], ta: true, tb: true },
  { a: [3, 8, 5], b: [3, 7, 5], ta: false, tb: true },
  { a: [3, 9, 4], b: [3, 9, 6], ta: true, tb: false },
];

describe('wasm transposed products', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
    fastTransposedMatMul();
  });
  afterAll(async () => {
    await selectBackend('cpu');
  });

  it('choose the order that copies and packs fewer entries', () => {
    // 64 × 784 · (256 × 784)ᵀ: swapped (U·xᵀ)ᵀ; (64 × 256)ᵀ · 64 × 784: direct.
    const drive = productCosts(64 * 784, 256 * 784, 64 * 256, false, true);
    expect(drive.swapped).toBeLessThan(drive.direct);
    const outer = productCosts(64 * 256, 64 * 784, 256 * 784, true, false);
    expect(outer.direct).toBeLessThan(outer.swapped);
  });

  it.each(cases)('match a float64 product: $a · $b (transposed $ta, $tb)', ({ a, b, ta, tb }) => {
    const rng = new Rng(7);
    const size = (s: number[]) => s.reduce((x, y) => x * y, 1);
    const av = Float32Array.from({ length: size(a) }, () => rng.normal());
    const bv = Float32Array.from({ length: size(b) }, () => rng.normal());
    const expected = reference(av, bv, a, b, ta, tb);
    const got = tf.tidy(() => tf.matMul(tf.tensor(av, a), tf.tensor(bv, b), ta, tb).dataSync());
    expect(got.length).toBe(expected.length);
    let worst = 0;
    for (let i = 0; i < got.length; i++)
      worst = Math.max(worst, Math.abs(got[i] - expected[i]) / (1 + Math.abs(expected[i])));
    expect(worst).toBeLessThan(1e-5);
  });
});
