/**
 * The fused step on tfjs's WASM backend: HostStepper in place on the backend's own heap, with the
 * SIMD kernels of simd.ts (instantiated over the same WebAssembly.Memory) for the products, the
 * activations and the φ/ψ updates. Without WASM SIMD it falls back to plain loops on that heap.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import {
  HostStepper,
  jsPrims,
  type Arena,
  type HostInputs,
  type HostView,
  type Prims,
} from '../host';
import { FUSED_STEP, STATS_SIZE, type FusedStepAttrs } from '../spec';
import { StepperCache } from '../stepperCache';
import { instantiateSimd, simdSupport, type SimdExports } from './simd';

/** The parts of tfjs's BackendWasm used here. */
interface WasmModule {
  HEAPF32: Float32Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  asm?: { memory?: WebAssembly.Memory };
  wasmExports?: { memory?: WebAssembly.Memory };
  wasmMemory?: WebAssembly.Memory;
}
interface WasmBackend {
  wasm: WasmModule;
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

export interface WasmKernelOptions {
  /** Use relaxed SIMD's madd where the engine supports it. */
  fma: boolean;
  /** Use the SIMD kernels (false: plain loops on the heap, for comparison). */
  simd: boolean;
}

const options: WasmKernelOptions = { fma: true, simd: true };

/** Change how the WASM kernel computes (forgets its per-backend set-up, so the next call uses it). */
export function setWasmKernelOptions(o: Partial<WasmKernelOptions>): void {
  Object.assign(options, o);
  for (const pb of perBackend.values()) pb.cache.clear();
  perBackend.clear();
}

let support: ReturnType<typeof simdSupport> | null = null;

interface PerBackend {
  arena: Arena;
  prims: Prims;
  cache: StepperCache;
  /** Which primitives are in use: 'simd+fma', 'simd' or 'js'. */
  flavour: string;
}

/** Set-up per backend instance (there is one, or a few when a backend is re-created). */
const perBackend = new Map<object, PerBackend>();

function heapArena(w: WasmModule): Arena {
  const owners = new Map<number, number>();
  return {
    heap: () => w.HEAPF32,
    alloc(floats) {
      const ptr = w._malloc(floats * 4 + 16) >>> 0;
      if (!ptr) throw new Error(`${FUSED_STEP}: out of WASM memory`);
      const aligned = (ptr + 15) & ~15;
      owners.set(aligned >>> 2, ptr);
      return aligned >>> 2;
    },
    free(offset) {
      const ptr = owners.get(offset);
      if (ptr !== undefined) {
        w._free(ptr);
        owners.delete(offset);
      }
    },
  };
}

function simdPrims(simd: SimdExports, arena: Arena, fallback: Prims): Prims {
  const scratch = arena.alloc(4) * 4; // two f64 for sumsq
  return {
    gemm: (x, ldx, y, ldy, _yT, _ldyT, c, ldc, rows, m, ncols, _nReal, accumulate) =>
      simd.gemm(x * 4, ldx * 4, y * 4, ldy * 4, c * 4, ldc * 4, rows, m, ncols, accumulate ? 1 : 0),
    act(kind, src, r, s, count) {
      if (kind === 'tanh') simd.tanh(src * 4, r * 4, s * 4, count);
      else if (kind === 'sigmoid') simd.sigmoid(src * 4, r * 4, s * 4, count);
      else fallback.act(kind, src, r, s, count);
    },
    eulerPhi: (x, a, d, p, out, count, coef) =>
      simd.eulerPhi(x * 4, a * 4, d * 4, p * 4, out * 4, count, coef),
    eulerPsi: (x, s, p, out, count, coef) =>
      simd.eulerPsi(x * 4, s * 4, p * 4, out * 4, count, coef),
    sumsq(prev, next, count, out, at) {
      simd.sumsq(prev * 4, next * 4, count, scratch);
      const f64 = new Float64Array(arena.heap().buffer, scratch, 2);
      out[at] = f64[0];
      out[at + 1] = f64[1];
    },
  };
}

function memoryOf(w: WasmModule): WebAssembly.Memory | undefined {
  return w.asm?.memory ?? w.wasmExports?.memory ?? w.wasmMemory;
}

function setup(b: WasmBackend): PerBackend {
  let pb = perBackend.get(b);
  if (pb) return pb;
  const arena = heapArena(b.wasm);
  const js = jsPrims(arena);
  let prims = js;
  let flavour = 'js';
  support ??= simdSupport();
  const memory = memoryOf(b.wasm);
  if (options.simd && support.simd && memory) {
    const fma = options.fma && support.relaxed;
    prims = simdPrims(instantiateSimd(memory, fma), arena, js);
    flavour = fma ? 'simd+fma' : 'simd';
  }
  pb = { arena, prims, cache: new StepperCache(), flavour };
  perBackend.set(b, pb);
  return pb;
}

/** Which primitives the WASM kernel uses on this backend ('simd+fma', 'simd' or 'js'). */
export function wasmKernelFlavour(backend: object): string {
  return setup(backend as WasmBackend).flavour;
}

export const wasmFusedStepConfig: KernelConfig = {
  kernelName: FUSED_STEP,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WasmBackend;
    const at = attrs as unknown as FusedStepAttrs;
    const pb = setup(b);
    const state = inputs.state as TensorInfo;
    const batch = state.shape[0];
    const width = 2 * at.n + 2 * at.k;
    const stepper = pb.cache.get(
      batch,
      at.n,
      at.k,
      () => new HostStepper(pb.arena, pb.prims, batch, at.n, at.k),
    );
    // Allocate the outputs before taking views: allocation may grow (and move) the heap.
    const outInfo = b.makeOutput([batch, width], 'float32');
    const statsInfo = b.makeOutput([STATS_SIZE], 'float32');
    const heap = b.wasm.HEAPF32;
    const offsetOf = (t: TensorInfo) => b.dataIdMap.get(t.dataId).memoryOffset >>> 2;
    const view = (t: TensorInfo | undefined): HostView | undefined =>
      t ? { heap, offset: offsetOf(t) } : undefined;
    const ti = (name: string) => inputs[name] as TensorInfo | undefined;
    const inp: HostInputs = {
      state: view(state)!,
      drive: view(ti('drive'))!,
      target: view(ti('target'))!,
      W: view(ti('W'))!,
      D: view(ti('D'))!,
      d: view(ti('d'))!,
      fbA: view(ti('fbA')),
      fbB: view(ti('fbB')),
      ids: {
        drive: ti('drive')!.dataId,
        W: ti('W')!.dataId,
        D: ti('D')!.dataId,
        d: ti('d')!.dataId,
        fbA: ti('fbA')?.dataId,
        fbB: ti('fbB')?.dataId,
      },
    };
    const stats = new Float32Array(STATS_SIZE);
    stepper.run(inp, at, heap, offsetOf(outInfo), stats);
    b.wasm.HEAPF32.set(stats, offsetOf(statsInfo));
    return [outInfo, statsInfo];
  },
};
