/**
 * Adam's whole step on one parameter as one pass of WebAssembly SIMD over tfjs-wasm's own heap
 * (a small module that imports tfjs's memory): the fourteen tfjs ops of optimizer.ts — each a
 * pass over every weight — cost 3.2 ms a batch of an MNIST RNN's 268,000 weights.
 *
 *   g  = s·∇ − λw          (s: clipping scale, λ: weight decay; each only when it applies)
 *   m′ = β₁m + (1 − β₁)g,  v′ = β₂v + (1 − β₂)g²
 *   Δ  = η · (m′/c₁) / (√(v′/c₂) + ε),  w′ = w + Δ     (c₁ = 1 − β₁ᵗ, c₂ = 1 − β₂ᵗ)
 *
 * The same float32 operations in the same order as the op sequence (IEEE +, ×, ÷ and √ round
 * alike everywhere), so the results are the same bits (tests/unit/adam-kernel.test.ts).
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { ADAM } from '../../adam';
import { F32, Fn, I32, ModuleBuilder, Op, Simd, V128, type Local } from './emit';
import { heapModule, heapOffset, tfjsMemory, type WasmBackend } from './tfjsHeap';

export const ADAM_STEP = 'LcpAdamStep';

/** Flags of the module's adam(…) call. */
const HAS_MOMENTS = 1;
const SCALED = 2;
const DECAY = 4;

export interface AdamStepAttrs {
  /** Clipping scale s (1: none). */
  scale: number;
  /** Weight decay λ (0: none). */
  decay: number;
  /** η: the learning rate (times the parameter's copies). */
  rate: number;
  /** Bias corrections c₁ = 1 − β₁ᵗ and c₂ = 1 − β₂ᵗ. */
  c1: number;
  c2: number;
}

/**
 * adam(w, dir, m, v, outW, outStep, outM, outV, count, flags, s, λ, η, c₁, c₂): byte addresses.
 * Four elements at a time, then one at a time for the rest.
 */
function adamFunction(f: Fn): void {
  const [w, dir, m, v, ow, os, om, ov, count, flags] = Array.from({ length: 10 }, (_, i) =>
    f.param(i),
  );
  const [scale, decay, rate, c1, c2] = Array.from({ length: 5 }, (_, i) => f.param(10 + i));
  const i = f.local(I32);
  const end = f.local(I32);
  const body = (lanes: 1 | 4) => {
    const T = lanes === 4 ? V128 : F32;
    const [G, W, M, V, S] = Array.from({ length: 5 }, () => f.local(T));
    const load = (base: Local) => {
      f.get(base).get(i).op(Op.i32Add);
      if (lanes === 4) f.vload();
      else f.f32load();
    };
    const store = (base: Local, value: Local) => {
      f.get(base).get(i).op(Op.i32Add).get(value);
      if (lanes === 4) f.vstore();
      else f.f32store();
    };
    const k = (c: number) => (lanes === 4 ? f.f32x4(c) : f.f32(c));
    const param = (p: Local) => {
      f.get(p);
      if (lanes === 4) f.simd(Simd.f32x4Splat);
    };
    const op = (scalar: number, simd: number) => (lanes === 4 ? f.simd(simd) : f.op(scalar));
    const mul = () => op(Op.f32Mul, Simd.f32x4Mul);
    const add = () => op(Op.f32Add, Simd.f32x4Add);
    const sub = () => op(Op.f32Sub, Simd.f32x4Sub);
    const div = () => op(Op.f32Div, Simd.f32x4Div);
    const sqrt = () => op(Op.f32Sqrt, Simd.f32x4Sqrt);
    const has = (flag: number) => f.get(flags).i32(flag).op(Op.i32And);

    load(dir);
    f.set(G);
    load(w);
    f.set(W);
    has(SCALED).if_(() => {
      param(scale);
      f.get(G);
      mul();
      f.set(G);
    });
    has(DECAY).if_(() => {
      f.get(G);
      param(decay);
      f.get(W);
      mul();
      sub();
      f.set(G);
    });
    k(0).set(M);
    k(0).set(V);
    has(HAS_MOMENTS).if_(() => {
      load(m);
      f.set(M);
      load(v);
      f.set(V);
    });
    // m′ = β₁m + (1 − β₁)g;  v′ = β₂v + (1 − β₂)g²
    k(ADAM.beta1).get(M);
    mul();
    k(1 - ADAM.beta1).get(G);
    mul();
    add();
    f.set(M);
    k(ADAM.beta2).get(V);
    mul();
    k(1 - ADAM.beta2)
      .get(G)
      .get(G);
    mul();
    mul();
    add();
    f.set(V);
    store(om, M);
    store(ov, V);
    // Δ = η · (m′/c₁) / (√(v′/c₂) + ε)
    param(rate);
    f.get(M);
    param(c1);
    div();
    f.get(V);
    param(c2);
    div();
    sqrt();
    k(ADAM.eps);
    add();
    div();
    mul();
    f.set(S);
    store(os, S);
    f.get(W).get(S);
    add();
    f.set(S);
    store(ow, S);
  };
  // Whole vectors, then the rest.
  f.i32(0).set(i);
  f.get(count).i32(-4).op(Op.i32And).i32(2).op(Op.i32Shl).set(end);
  f.whileLt(i, end, 16, () => body(4));
  f.get(count).i32(2).op(Op.i32Shl).set(end);
  f.whileLt(i, end, 4, () => body(1));
}

/** The module over a memory of tfjs-wasm's kind (shared in its threaded build). */
export function buildAdamModule(shared: boolean): Uint8Array {
  const mod = new ModuleBuilder(tfjsMemory(shared));
  mod.func('adam', [...Array<typeof I32>(10).fill(I32), F32, F32, F32, F32, F32], [], adamFunction);
  return mod.bytes();
}

type AdamCall = (...args: number[]) => void;

function adamOn(backend: WasmBackend): AdamCall | null {
  const exports = heapModule(backend, buildAdamModule);
  return exports ? (exports.adam as AdamCall) : null;
}

/** Can this tfjs-wasm backend run the fused step (its memory reachable, WASM SIMD)? */
export function wasmAdamAvailable(backend: object): boolean {
  return adamOn(backend as WasmBackend) !== null;
}

export const wasmAdamStepConfig: KernelConfig = {
  kernelName: ADAM_STEP,
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const b = backend as unknown as WasmBackend;
    const call = adamOn(b);
    if (!call) throw new Error(`${ADAM_STEP}: this tfjs-wasm build's memory is not reachable`);
    const at = attrs as unknown as AdamStepAttrs;
    const w = inputs.w as TensorInfo;
    const m = inputs.m as TensorInfo | undefined;
    const v = inputs.v as TensorInfo | undefined;
    const outs = [0, 1, 2, 3].map(() => b.makeOutput(w.shape, 'float32'));
    const at0 = (t: TensorInfo | undefined) => (t ? heapOffset(b, t) : 0);
    const count = w.shape.reduce((x, y) => x * y, 1);
    const flags =
      (m && v ? HAS_MOMENTS : 0) | (at.scale !== 1 ? SCALED : 0) | (at.decay > 0 ? DECAY : 0);
    call(
      at0(w),
      at0(inputs.dir as TensorInfo),
      at0(m),
      at0(v),
      ...outs.map(at0),
      count,
      flags,
      at.scale,
      at.decay,
      at.rate,
      at.c1,
      at.c2,
    );
    return outs;
  },
};
