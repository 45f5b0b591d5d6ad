/**
 * Column blocks of row-major matrices joined and split on tfjs-wasm's heap in one WASM pass: the
 * fused step's packed state φ | ψ | y | u_I is made and taken apart around every solve, and
 * tfjs-wasm's Slice copies a column block row by row from JavaScript (~0.2–0.4 ms for a batch
 * of 64 against ~10 µs here). Plain copies: the same bits.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { Fn, I32, ModuleBuilder, Op } from './emit';
import { heapModule, heapOffset, tfjsMemory, type WasmBackend } from './tfjsHeap';

export const SPLIT_COLUMNS = 'LcpSplitColumns';
export const JOIN_COLUMNS = 'LcpJoinColumns';

/**
 * copyRows(src, lds, dst, ldd, rows, bytes): `rows` rows of `bytes` bytes (a multiple of 4) from
 * row stride lds to row stride ldd; 16 bytes at a time, then 4.
 */
function copyRows(f: Fn): void {
  const [src, lds, dst, ldd, rows, bytes] = [0, 1, 2, 3, 4, 5].map((i) => f.param(i));
  const row = f.local(I32);
  const at = f.local(I32);
  const whole = f.local(I32);
  f.get(bytes).i32(-16).op(Op.i32And).set(whole);
  f.i32(0).set(row);
  f.whileLt(row, rows, 1, () => {
    f.i32(0).set(at);
    f.whileLt(at, whole, 16, () => {
      f.get(dst).get(at).op(Op.i32Add);
      f.get(src).get(at).op(Op.i32Add).vload();
      f.vstore();
    });
    f.whileLt(at, bytes, 4, () => {
      f.get(dst).get(at).op(Op.i32Add);
      f.get(src).get(at).op(Op.i32Add).f32load();
      f.f32store();
    });
    f.get(src).get(lds).op(Op.i32Add).set(src);
    f.get(dst).get(ldd).op(Op.i32Add).set(dst);
  });
}

/** The module over a memory of tfjs-wasm's kind. */
export function buildColumnsModule(shared: boolean): Uint8Array {
  const mod = new ModuleBuilder(tfjsMemory(shared));
  mod.func('copyRows', Array<typeof I32>(6).fill(I32), [], copyRows);
  return mod.bytes();
}

type CopyRows = (
  src: number,
  lds: number,
  dst: number,
  ldd: number,
  rows: number,
  bytes: number,
) => void;

function copyRowsOn(backend: WasmBackend): CopyRows | null {
  const exports = heapModule(backend, buildColumnsModule);
  return exports ? (exports.copyRows as CopyRows) : null;
}

/** Can this tfjs-wasm backend run the two kernels (its memory reachable, WASM SIMD)? */
export function wasmColumnsAvailable(backend: object): boolean {
  return copyRowsOn(backend as WasmBackend) !== null;
}

export interface SplitColumnsAttrs {
  /** The widths of the blocks, left to right (they sum to the input's columns). */
  widths: number[];
}

function copier(backend: WasmBackend, kernel: string): CopyRows {
  const copy = copyRowsOn(backend);
  if (!copy) throw new Error(`${kernel}: this tfjs-wasm build's memory is not reachable`);
  return copy;
}

/** x [R, C] → one [R, w] tensor per width. */
export const wasmSplitColumnsConfig: KernelConfig = {
  kernelName: SPLIT_COLUMNS,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WasmBackend;
    const copy = copier(b, SPLIT_COLUMNS);
    const x = inputs.x as TensorInfo;
    const [rows, cols] = x.shape;
    const { widths } = attrs as unknown as SplitColumnsAttrs;
    let at = heapOffset(b, x);
    return widths.map((w) => {
      const out = b.makeOutput([rows, w], 'float32');
      copy(at, 4 * cols, heapOffset(b, out), 4 * w, rows, 4 * w);
      at += 4 * w;
      return out;
    });
  },
};

/** x0, x1, … [R, wᵢ] → [R, Σ wᵢ] (inputs named x0, x1, … in order). */
export const wasmJoinColumnsConfig: KernelConfig = {
  kernelName: JOIN_COLUMNS,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend }) => {
    const b = backend as unknown as WasmBackend;
    const copy = copier(b, JOIN_COLUMNS);
    const parts = Object.keys(inputs)
      .sort((p, q) => Number(p.slice(1)) - Number(q.slice(1)))
      .map((name) => inputs[name] as TensorInfo);
    const rows = parts[0].shape[0];
    const cols = parts.reduce((s, t) => s + t.shape[1], 0);
    const out = b.makeOutput([rows, cols], 'float32');
    let at = heapOffset(b, out);
    for (const t of parts) {
      const w = t.shape[1];
      copy(heapOffset(b, t), 4 * w, at, 4 * cols, rows, 4 * w);
      at += 4 * w;
    }
    return out;
  },
};
