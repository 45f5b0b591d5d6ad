/**
 * The step module's packed GEMM (src/engine/kernels/wasm/gemm.ts) under every register tiling and
 * unrolling it can be built with: C = X·Y must not depend on them, bit for bit (every element is
 * the same chain of multiply-adds over k in order), and the plain build (multiply, then add) must
 * equal that chain computed here in float32.
 */
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { pad16 } from '../../src/engine/kernels/spec';
import { buildStepModule, stepSupport } from '../../src/engine/kernels/wasm/step';
import { Rng } from '../../src/engine/rng';

// Relaxed SIMD is behind a flag in Node 20 (as the CLI sets it); where the flag does not take,
// the relaxed build is skipped below.
v8.setFlagsFromString('--experimental-wasm-relaxed-simd');

interface GemmExports {
  gemm(...args: number[]): void;
  packPanels(...args: number[]): void;
}

/** C = X·Y (M × K times K × N) by one build of the module; C's columns padded to 16. */
function product(
  x: Float32Array,
  y: Float32Array,
  M: number,
  K: number,
  N: number,
  options: { fma: boolean; tileRows?: number; unroll?: number },
): Float32Array {
  const memory = new WebAssembly.Memory({ initial: 256 });
  const bytes = buildStepModule({ ...options, shared: false }) as Uint8Array<ArrayBuffer>;
  const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
    .exports as unknown as GemmExports;
  const Np = pad16(N);
  const at = { x: 1 << 16, stage: 0, y: 0, c: 0 };
  at.stage = at.x + 4 * M * K;
  at.y = at.stage + 4 * K * N;
  at.c = at.y + 4 * K * Np;
  const f = new Float32Array(memory.buffer);
  f.set(x, at.x >> 2);
  f.set(y, at.stage >> 2);
  ex.packPanels(at.stage, N, at.y, K, N, 0);
  ex.gemm(at.x, 4 * K, at.y, at.c, 4 * Np, 0, M, 0, Np / 16, K, 0);
  const c = new Float32Array(M * N);
  for (let i = 0; i < M; i++)
    c.set(f.subarray((at.c >> 2) + i * Np, (at.c >> 2) + i * Np + N), i * N);
  return c;
}

function random(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

describe('the step module’s GEMM', () => {
  // Rows that leave a remainder for every tile height, K across a block boundary (KC = 256) and
  // not a multiple of the unrolling, columns that leave a partial panel.
  const M = 37;
  const K = 301;
  const N = 45;
  const rng = new Rng(11);
  const x = random(rng, M * K);
  const y = random(rng, K * N);
  const tilings = [1, 2, 4].flatMap((unroll) =>
    [2, 3, 4].map((tileRows) => ({ unroll, tileRows })),
  );

  it('with a separate multiply and add, equals the float32 chain over k in order', () => {
    const want = new Float32Array(M * N);
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let acc = 0;
        for (let k = 0; k < K; k++)
          acc = Math.fround(acc + Math.fround(x[i * K + k] * y[k * N + j]));
        want[i * N + j] = acc;
      }
    for (const t of tilings) {
      const got = product(x, y, M, K, N, { fma: false, ...t });
      let differ = 0;
      for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) differ++;
      expect(differ, JSON.stringify(t)).toBe(0);
    }
  });

  it.skipIf(!stepSupport().relaxed)(
    'with relaxed madd, gives the same bits under every tiling',
    () => {
      const first = product(x, y, M, K, N, { fma: true, ...tilings[0] });
      for (const t of tilings.slice(1)) {
        const got = product(x, y, M, K, N, { fma: true, ...t });
        let differ = 0;
        for (let i = 0; i < first.length; i++) if (!Object.is(got[i], first[i])) differ++;
        expect(differ, JSON.stringify(t)).toBe(0);
      }
    },
  );
});
