/**
 * tfjs-wasm's products on the step engine's threads (src/engine/kernels/wasm/engineMatMul.ts)
 * against tfjs-wasm's own product: the same bits, for every combination of transposed operands,
 * with column counts that are and are not multiples of 16, and on one and two threads.
 */
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  fastTransposedMatMul,
  prepareWasmKernel,
  setEngineProducts,
  setWasmKernelOptions,
} from '../../src/engine/kernels/wasm/kernel';
import {
  engineProductCount,
  MIN_ENGINE_PRODUCT_MACS,
} from '../../src/engine/kernels/wasm/engineMatMul';
import { Rng } from '../../src/engine/rng';
import { selectBackend, tf, type Tensor } from '../../src/engine/tf';

function randomMatrix(rng: Rng, rows: number, cols: number): Tensor {
  return tf.tensor2d(
    Array.from({ length: rows * cols }, () => rng.normal()),
    [rows, cols],
  );
}

/** op(A)·op(B) by tfjs-wasm itself, and with the engine's products. */
function bothWays(a: Tensor, b: Tensor, tA: boolean, tB: boolean): [Float32Array, Float32Array] {
  setEngineProducts(false);
  const own = tf.tidy(() => Float32Array.from(tf.matMul(a, b, tA, tB).dataSync()));
  setEngineProducts(true);
  const engine = tf.tidy(() => Float32Array.from(tf.matMul(a, b, tA, tB).dataSync()));
  return [own, engine];
}

describe('products on the step engine’s threads (wasm)', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
    fastTransposedMatMul();
  });
  afterAll(async () => {
    setEngineProducts(true);
    setWasmKernelOptions({ threads: 'auto' });
    await selectBackend('cpu');
  });

  // The epoch's shapes (drive 64 × 784 · (256 × 784)ᵀ, outer products (64 × 256)ᵀ · 64 × 784),
  // a test split's drive (odd rows, several row blocks), and columns that leave a partial panel.
  const shapes = [
    { M: 64, K: 784, N: 256 },
    { M: 256, K: 64, N: 784 },
    { M: 301, K: 130, N: 40 },
    { M: 97, K: 300, N: 70 },
  ];
  it.each([1, 2])('gives tfjs’s own bits on %i thread(s)', async (threads) => {
    setWasmKernelOptions({ threads, fma: true });
    const { threads: got } = await prepareWasmKernel();
    expect(got).toBe(threads);
    const rng = new Rng(7);
    const before = engineProductCount();
    let cases = 0;
    for (const { M, K, N } of shapes) {
      expect(M * N * K).toBeGreaterThanOrEqual(MIN_ENGINE_PRODUCT_MACS);
      for (const [tA, tB] of [
        [false, false],
        [false, true],
        [true, false],
        [true, true],
      ]) {
        const a = tA ? randomMatrix(rng, K, M) : randomMatrix(rng, M, K);
        const b = tB ? randomMatrix(rng, N, K) : randomMatrix(rng, K, N);
        const [own, engine] = bothWays(a, b, tA, tB);
        expect(engine.length).toBe(M * N);
        let differ = 0;
        for (let i = 0; i < own.length; i++) if (!Object.is(own[i], engine[i])) differ++;
        expect(differ, `${M}×${K}×${N}, tA ${tA}, tB ${tB}`).toBe(0);
        tf.dispose([a, b]);
        cases++;
      }
    }
    // One thread leaves every product to tfjs; two take them all.
    expect(engineProductCount() - before).toBe(threads === 1 ? 0 : cases);
  });

  it('leaves no tensors behind', async () => {
    setWasmKernelOptions({ threads: 2, fma: true });
    await prepareWasmKernel();
    const rng = new Rng(3);
    const a = randomMatrix(rng, 64, 784);
    const b = randomMatrix(rng, 256, 784);
    bothWays(a, b, false, true);
    const tensors = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    for (let i = 0; i < 5; i++) bothWays(a, b, false, true);
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.memory().numBytes).toBe(bytes);
    tf.dispose([a, b]);
  });
});
