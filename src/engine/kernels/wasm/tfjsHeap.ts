/**
 * Small WASM modules that work on tfjs-wasm's tensors where they lie: each imports tfjs-wasm's
 * own memory (its single-threaded build exports it, its threaded build imports one), so a kernel
 * reads and writes tensors by their byte offsets with no copy.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { MemoryImport } from './emit';

/** The parts of tfjs's BackendWasm used here. */
export interface WasmBackend {
  wasm: {
    asm?: { memory?: WebAssembly.Memory };
    wasmMemory?: WebAssembly.Memory;
    /** A view of the heap (a new one after the heap grows). */
    HEAPF32: Float32Array;
  };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  disposeData(dataId: object): boolean;
}

/** A tensor's byte offset in tfjs-wasm's memory. */
export function heapOffset(backend: WasmBackend, t: TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/** Per module builder, per tfjs backend instance: the instance's exports (null: not possible). */
const instances = new WeakMap<
  (shared: boolean) => Uint8Array,
  WeakMap<object, WebAssembly.Exports | null>
>();

/**
 * The module `build(shared)` makes, instantiated over this backend's memory (once per backend);
 * null where that memory is not reachable or the engine rejects the module (no WASM SIMD).
 */
export function heapModule(
  backend: WasmBackend,
  build: (shared: boolean) => Uint8Array,
): WebAssembly.Exports | null {
  let byBackend = instances.get(build);
  if (!byBackend) instances.set(build, (byBackend = new WeakMap()));
  let exports = byBackend.get(backend);
  if (exports !== undefined) return exports;
  exports = null;
  try {
    const memory = backend.wasm.asm?.memory ?? backend.wasm.wasmMemory;
    if (memory instanceof WebAssembly.Memory) {
      const shared =
        typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
      const bytes = build(shared) as Uint8Array<ArrayBuffer>;
      exports = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } })
        .exports;
    }
  } catch {
    exports = null;
  }
  byBackend.set(backend, exports);
  return exports;
}

/** The memory import of a module over tfjs-wasm's memory (shared in its threaded build). */
export function tfjsMemory(shared: boolean): MemoryImport {
  return {
    module: 'env',
    field: 'memory',
    minPages: 1,
    maxPages: shared ? 65536 : undefined,
    shared,
  };
}
