/**
 * The fused step on tfjs's WASM backend. With WASM SIMD (every current engine) the whole
 * dispatch runs in the step module of step.ts, over a memory of its own (stepper.ts): inputs are
 * copied in from the tfjs heap, one call runs the steps, the state is copied back. Products use
 * relaxed SIMD's FMA where the engine has it, and helper threads where shared memory exists.
 * Without SIMD it falls back to host.ts's plain loops in place on the tfjs heap.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { HostStepper, jsPrims, type Arena, type HostInputs, type HostView } from '../host';
import { FUSED_STEP, STATS_SIZE, type FusedStepAttrs } from '../spec';
import { StepperCache } from '../stepperCache';
import { engineMatMul } from './engineMatMul';
import { fastTransposedMatMul, setThreadedProduct } from './matmul';
import { StepEngine, stepSupport, threadProblem, WasmStepper } from './stepper';

export { fastTransposedMatMul };

/** The parts of tfjs's BackendWasm used here. */
interface WasmModule {
  HEAPF32: Float32Array;
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}
interface WasmBackend {
  wasm: WasmModule;
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
}

export interface WasmKernelOptions {
  /** Use relaxed SIMD's madd where the engine supports it. */
  fma: boolean;
  /** Use the SIMD step module (false: plain loops on the tfjs heap, for comparison). */
  simd: boolean;
  /** Threads in all ('auto': the cores this machine reports, where shared memory exists). */
  threads: number | 'auto';
  /** GEMM register tile rows and unrolling (measurements). */
  tileRows?: number;
  unroll?: number;
  /** Multiply-adds per step from which a dispatch uses threads (tests: 0). */
  threadFrom?: number;
  /** With threads 'auto': cores left to others (the app keeps one for drawing the page). */
  keepCores?: number;
  /** Spin iterations before a waiting helper sleeps (tests). */
  spin?: number;
}

const options: WasmKernelOptions = { fma: true, simd: true, threads: 'auto' };

let support: ReturnType<typeof stepSupport> | null = null;
let engine: StepEngine | null = null;
const wasmCache = new StepperCache<WasmStepper>();

/** Per tfjs backend instance: the fallback's arena on that backend's heap. */
const jsFallback = new Map<object, { cache: StepperCache<HostStepper>; arena: Arena }>();

/** Change how the WASM kernel computes (forgets its set-up; the next call builds it anew). */
export function setWasmKernelOptions(o: Partial<WasmKernelOptions>): void {
  Object.assign(options, o);
  support = null;
  wasmCache.clear();
  engine?.dispose();
  engine = null;
  for (const pb of jsFallback.values()) pb.cache.clear();
  jsFallback.clear();
}

/** The step engine, or null without WASM SIMD (or when options.simd is false). */
function stepEngine(): StepEngine | null {
  support ??= stepSupport();
  if (!options.simd || !support.simd) return null;
  if (!engine) {
    engine = new StepEngine({
      fma: options.fma && support.relaxed,
      threads: options.threads === 'auto' ? 'auto' : Math.max(1, Math.floor(options.threads)),
      tileRows: options.tileRows,
      unroll: options.unroll,
      threadFrom: options.threadFrom,
      keepCores: options.keepCores,
      spin: options.spin,
    });
    // Helpers come up in the background; dispatches use them once they are ready.
    void engine.startHelpers();
  }
  return engine;
}

/** tfjs's large products on the engine's threads, once it has them (the same bits as tfjs's). */
function threadedProduct(args: Parameters<KernelFunc>[0]): TensorInfo | null {
  const eng = options.simd ? stepEngine() : null;
  return eng ? engineMatMul(eng, args) : null;
}
setThreadedProduct(threadedProduct);

/** Products on the engine's threads where they apply (false: tfjs's own; tests, measurements). */
export function setEngineProducts(enabled: boolean): void {
  setThreadedProduct(enabled ? threadedProduct : null);
}

/**
 * Start the kernel's helper threads now and wait for them; returns a line for the status bar:
 * how many threads the products use and, on one thread, why.
 */
export async function prepareWasmKernel(): Promise<{ threads: number; note: string }> {
  const eng = stepEngine();
  if (!eng) return { threads: 1, note: 'one thread (no WASM SIMD: plain loops)' };
  await eng.startHelpers();
  const threads = eng.usableHelpers + 1;
  if (threads > 1) return { threads, note: `${threads} threads` };
  const reserved = eng.reservedNote;
  if (reserved)
    return {
      threads: 1,
      note: `one thread (${reserved}; ${eng.helperCount + 1} while Train 1 epoch runs)`,
    };
  const why = eng.threadNote ?? threadProblem() ?? 'one thread asked for';
  return { threads: 1, note: `one thread (${why})` };
}

/**
 * Leave `cores` cores to the page from the next dispatch on (the app keeps one, and none while
 * Train 1 epoch runs: its user waits for the epoch, and the page then only shows its progress).
 */
export function reserveKernelCores(cores: number): void {
  engine?.reserve(cores);
}

/** Which code the WASM kernel runs: 'simd+fma', 'simd' or 'js'. */
export function wasmKernelFlavour(_backend?: object): string {
  return stepEngine()?.flavour ?? 'js';
}

/** Threads the next dispatch of a shape would use. */
export function wasmKernelThreads(batch: number, n: number, k: number): number {
  const eng = stepEngine();
  if (!eng) return 1;
  return wasmCache.get(batch, n, k, () => new WasmStepper(eng, batch, n, k)).threads;
}

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

export const wasmFusedStepConfig: KernelConfig = {
  kernelName: FUSED_STEP,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    fastTransposedMatMul();
    const b = backend as unknown as WasmBackend;
    const at = attrs as unknown as FusedStepAttrs;
    const state = inputs.state as TensorInfo;
    const batch = state.shape[0];
    const width = 2 * at.n + 2 * at.k;
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
    const eng = stepEngine();
    if (eng) {
      const stepper = wasmCache.get(
        batch,
        at.n,
        at.k,
        () => new WasmStepper(eng, batch, at.n, at.k),
      );
      stepper.run(inp, at, heap, offsetOf(outInfo), stats);
    } else {
      let pb = jsFallback.get(b);
      if (!pb) {
        pb = { cache: new StepperCache<HostStepper>(), arena: heapArena(b.wasm) };
        jsFallback.set(b, pb);
      }
      const { arena } = pb;
      const stepper = pb.cache.get(
        batch,
        at.n,
        at.k,
        () => new HostStepper(arena, jsPrims(arena), batch, at.n, at.k),
      );
      stepper.run(inp, at, b.wasm.HEAPF32, offsetOf(outInfo), stats);
    }
    b.wasm.HEAPF32.set(stats, offsetOf(statsInfo));
    return [outInfo, statsInfo];
  },
};
