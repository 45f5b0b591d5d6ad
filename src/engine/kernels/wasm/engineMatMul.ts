/**
 * tfjs-wasm's large products on the step engine's threads. tfjs's own ops run on one thread (its
 * threaded build would fight the engine's threads for the cores), and in an MNIST RBP epoch its
 * products — the drive x·Uᵀ and the update's outer products hᵀx, hᵀρ(φ) — take about a quarter
 * of the time. Here the operands are copied into the engine's memory (op(A) by rows, op(B) packed
 * into panels), one product job runs on every usable thread, and C is copied back out.
 *
 * Each element of C is Σₖ op(A)[i, k]·op(B)[k, j] summed in order of k from 0 with a separate
 * multiply and add, as tfjs-wasm's own product sums (XNNPACK's f32 kernels for WASM SIMD), so
 * the results are tfjs's own bits on any number of threads (tests/unit/engine-matmul.test.ts).
 * The staging region stays with the engine, sized by the largest product so far (~10 MB for an
 * MNIST test split's drive).
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { pad16 } from '../spec';
import { DEFAULT_TILE_ROWS } from './gemm';
import { I, JOB } from './layout';
import type { StepEngine } from './stepper';
import { heapOffset, type WasmBackend } from './tfjsHeap';

/** Multiply-adds from which a product goes to the threads (below, copies outweigh the gain). */
export const MIN_ENGINE_PRODUCT_MACS = 1 << 20;

/** Per engine: one staging region, kept between products and grown when a product needs more. */
const staging = new WeakMap<StepEngine, { at: number; bytes: number }>();

/** Regions of these float counts (64-byte aligned) in the engine's staging region. */
function scratch(eng: StepEngine, floats: number[]): number[] {
  const aligned = floats.map((f) => Math.ceil((4 * f) / 64) * 64);
  const bytes = aligned.reduce((a, b) => a + b, 0);
  let region = staging.get(eng);
  if (!region || region.bytes < bytes) {
    if (region) eng.free(region.at);
    region = { at: eng.alloc(bytes), bytes };
    staging.set(eng, region);
  }
  let at = region.at;
  return aligned.map((size) => {
    const here = at;
    at += size;
    return here;
  });
}

let jobs = 0;
/** Products run on the engine so far (tests check that the path is taken). */
export function engineProductCount(): number {
  return jobs;
}

const entries = (t: TensorInfo) => t.shape.reduce((a, b) => a * b, 1);

/**
 * C = op(A)·op(B) for one matrix pair (leading dimensions of 1) on the engine's threads; null
 * where this does not apply (one usable thread, a small product, another dtype).
 */
export function engineMatMul(eng: StepEngine, args: Parameters<KernelFunc>[0]): TensorInfo | null {
  const threads = eng.usableHelpers + 1;
  if (threads < 2) return null;
  const backend = args.backend as unknown as WasmBackend;
  const a = args.inputs.a as TensorInfo;
  const b = args.inputs.b as TensorInfo;
  const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const [ra, ca] = a.shape.slice(-2);
  const [rb, cb] = b.shape.slice(-2);
  if (entries(a) !== ra * ca || entries(b) !== rb * cb) return null;
  const [M, K] = transposeA ? [ca, ra] : [ra, ca];
  const N = transposeB ? rb : cb;
  if (M * N * K < MIN_ENGINE_PRODUCT_MACS) return null;
  const Np = pad16(N);
  const lead = (a.shape.length >= b.shape.length ? a.shape : b.shape).slice(0, -2);
  // Allocate the output before taking heap views: allocation may grow (and move) tfjs's heap.
  const out = backend.makeOutput([...lead, M, N], 'float32');
  const heap = backend.wasm.HEAPF32;
  const source = (t: TensorInfo) => {
    const at = heapOffset(backend, t) >>> 2;
    return heap.subarray(at, at + entries(t));
  };
  // Every region first (the engine's memory may grow; views are taken after).
  const sizes = [M * K, Math.max(K * N, transposeA ? M * K : 0), K * Np, M * Np];
  const [x, stage, y, c] = scratch(eng, sizes);
  const H = eng.f32;
  if (transposeA) {
    H.set(source(a), stage >> 2);
    eng.exports.transpose(stage, K, M, x);
  } else H.set(source(a), x >> 2);
  H.set(source(b), stage >> 2);
  eng.exports.packPanels(stage, transposeB ? K : N, y, K, N, transposeB ? 1 : 0);
  const iw = new Int32Array(eng.memory.buffer, eng.ctx, 128);
  iw[I.job] = JOB.product;
  iw[I.threads] = threads;
  iw[I.pX] = x;
  iw[I.pLdx] = 4 * K;
  iw[I.pY] = y;
  iw[I.pC] = c;
  iw[I.pLdc] = 4 * Np;
  iw[I.pM] = M;
  iw[I.pPanels] = Np / 16;
  iw[I.pK] = K;
  // A thread's share: whole register tiles.
  iw[I.pRowsEach] = Math.ceil(M / threads / DEFAULT_TILE_ROWS) * DEFAULT_TILE_ROWS;
  eng.exports.dispatch(eng.ctx);
  jobs++;
  const to = backend.wasm.HEAPF32;
  const at = heapOffset(backend, out) >>> 2;
  if (Np === N) to.set(H.subarray(c >> 2, (c >> 2) + M * N), at);
  else
    for (let i = 0; i < M; i++)
      to.set(H.subarray((c >> 2) + i * Np, (c >> 2) + i * Np + N), at + i * N);
  return out;
}
