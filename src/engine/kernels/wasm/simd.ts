/**
 * The WASM SIMD kernels of the fused Euler step, written with the encoder of emit.ts and compiled
 * at start-up (no toolchain). They work in place on a memory that the caller passes in — the
 * tfjs WASM backend's own heap, so tensors are read and written where they live.
 *
 * All pointers and strides are in bytes; counts are in floats. Buffers are padded so that every
 * vectorised dimension is a multiple of 8 floats (see host.ts), which keeps the kernels free of
 * scalar tails.
 *
 *   gemm(x, ldx, y, ldy, c, ldc, rows, m, ncols, accumulate)   C[rows, ncols] (+)= X[rows, m]·Y[m, ncols]
 *   tanh(src, r, s, count)         r = tanh(src), s = 1 − r²
 *   sigmoid(src, r, s, count)      r = 1/(1 + e^−src), s = r(1 − r)
 *   eulerPhi(x, a, d, p, out, count, coef)   out = x + coef·(a + d + p − x)
 *   eulerPsi(x, s, p, out, count, coef)      out = x + coef·(s·p − x)
 *   sumsq(prev, next, count, out)  out (2 × f64) = Σ(next − prev)², Σ next²
 */
import { F32, Fn, I32, ModuleBuilder, Op, Simd, V128, type Local } from './emit';

export interface SimdExports {
  gemm(
    x: number,
    ldx: number,
    y: number,
    ldy: number,
    c: number,
    ldc: number,
    rows: number,
    m: number,
    ncols: number,
    accumulate: number,
  ): void;
  tanh(src: number, r: number, s: number, count: number): void;
  sigmoid(src: number, r: number, s: number, count: number): void;
  eulerPhi(
    x: number,
    a: number,
    d: number,
    p: number,
    out: number,
    count: number,
    coef: number,
  ): void;
  eulerPsi(x: number, s: number, p: number, out: number, count: number, coef: number): void;
  sumsq(prev: number, next: number, count: number, out: number): void;
}

export interface SimdOptions {
  /** Use relaxed SIMD's f32x4.relaxed_madd (an FMA where the engine has one). */
  fma: boolean;
  /** Import the memory as shared (threaded builds of the tfjs WASM backend). */
  shared: boolean;
  /** Pages the imported memory has at least (its current size is fine). */
  minPages: number;
  maxPages?: number;
  /** Rows × vectors of the GEMM micro-tile (2 × 4 = 2 rows × 16 columns by default: measured best). */
  tileRows?: number;
  tileVecs?: number;
  /** Vectors of the one-row tile for the remaining rows. */
  tailVecs?: number;
}

/** acc = acc + a·b (a, b, acc are locals). */
function madd(f: Fn, fma: boolean, acc: Local, a: Local, b: Local): void {
  if (fma) f.get(a).get(b).get(acc).simd(Simd.f32x4RelaxedMadd).set(acc);
  else f.get(acc).get(a).get(b).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).set(acc);
}

function gemm(f: Fn, o: SimdOptions): void {
  const [x, ldx, y, ldy, c, ldc, rows, m, ncols, accumulate] = Array.from({ length: 10 }, (_, i) =>
    f.param(i),
  );
  const r = f.local(I32);
  const col = f.local(I32);
  const colEnd = f.local(I32);
  const cRow = f.local(I32);
  const yp = f.local(I32);
  const k = f.local(I32);
  const xs = f.local(V128);
  f.get(ncols).i32(2).op(Op.i32Shl).set(colEnd);

  /** One pass over rows [r, r + MR) × all columns, with an MR × NV register tile. */
  const tile = (MR: number, NV: number, fma: boolean) => {
    const xp = Array.from({ length: MR }, () => f.local(I32));
    const acc = Array.from({ length: MR * NV }, () => f.local(V128));
    const yv = Array.from({ length: NV }, () => f.local(V128));
    f.i32(0).set(col);
    f.whileLt(col, colEnd, 16 * NV, () => {
      // C's row r, column col.
      f.get(c).get(r).get(ldc).op(Op.i32Mul).op(Op.i32Add).get(col).op(Op.i32Add).set(cRow);
      f.get(accumulate).if_(
        () => {
          for (let i = 0; i < MR; i++)
            for (let v = 0; v < NV; v++) {
              f.get(cRow);
              if (i > 0) f.get(ldc).i32(i).op(Op.i32Mul).op(Op.i32Add);
              f.vload(16 * v).set(acc[i * NV + v]);
            }
        },
        () => {
          for (const a of acc) f.f32x4(0).set(a);
        },
      );
      for (let i = 0; i < MR; i++) {
        f.get(x).get(r).i32(i).op(Op.i32Add).get(ldx).op(Op.i32Mul).op(Op.i32Add).set(xp[i]);
      }
      f.get(y).get(col).op(Op.i32Add).set(yp);
      f.get(m).set(k);
      f.get(k).if_(() => {
        f.loop(() => {
          for (let v = 0; v < NV; v++)
            f.get(yp)
              .vload(16 * v)
              .set(yv[v]);
          for (let i = 0; i < MR; i++) {
            f.get(xp[i]).vsplatLoad().set(xs);
            for (let v = 0; v < NV; v++) madd(f, fma, acc[i * NV + v], xs, yv[v]);
            f.get(xp[i]).i32(4).op(Op.i32Add).set(xp[i]);
          }
          f.get(yp).get(ldy).op(Op.i32Add).set(yp);
          f.get(k).i32(1).op(Op.i32Sub).tee(k).brIf(0);
        });
      });
      for (let i = 0; i < MR; i++)
        for (let v = 0; v < NV; v++) {
          f.get(cRow);
          if (i > 0) f.get(ldc).i32(i).op(Op.i32Mul).op(Op.i32Add);
          f.get(acc[i * NV + v]).vstore(16 * v);
        }
    });
  };

  const MR = o.tileRows ?? 2;
  const NV = o.tileVecs ?? 4;
  const rowsMain = f.local(I32);
  // rowsMain = rows − rows % MR
  f.get(rows).get(rows).i32(MR).op(0x6f /* i32.rem_s */).op(Op.i32Sub).set(rowsMain);
  f.i32(0).set(r);
  f.whileLt(r, rowsMain, MR, () => tile(MR, NV, o.fma));
  // Remaining rows one at a time. Plain mul + add here: a single row has only NV accumulator
  // chains, and the FMA's longer latency made batch-1 products slower (measured in Chromium).
  f.whileLt(r, rows, 1, () => tile(1, o.tailVecs ?? NV, false));
}

/**
 * e^x for x in a v128 local (Cephes' expf: range reduction by ln 2, a degree-5 polynomial,
 * 2ⁿ from the exponent bits). Leaves the result on the stack. Relative error ~1e-7.
 */
function expInto(f: Fn, x: Local, t: { fx: Local; xr: Local; p: Local }): void {
  f.get(x).f32x4(88).simd(Simd.f32x4Min).f32x4(-88).simd(Simd.f32x4Max).set(x);
  f.get(x)
    .f32x4(Math.LOG2E)
    .simd(Simd.f32x4Mul)
    .f32x4(0.5)
    .simd(Simd.f32x4Add)
    .simd(Simd.f32x4Floor)
    .set(t.fx);
  f.get(x)
    .get(t.fx)
    .f32x4(0.693359375)
    .simd(Simd.f32x4Mul)
    .simd(Simd.f32x4Sub)
    .get(t.fx)
    .f32x4(-2.1219444e-4)
    .simd(Simd.f32x4Mul)
    .simd(Simd.f32x4Sub)
    .set(t.xr);
  const coeffs = [
    1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1,
  ];
  f.f32x4(1.98756915e-4);
  for (const cf of coeffs) f.get(t.xr).simd(Simd.f32x4Mul).f32x4(cf).simd(Simd.f32x4Add);
  // p·xr² + xr + 1
  f.get(t.xr)
    .simd(Simd.f32x4Mul)
    .get(t.xr)
    .simd(Simd.f32x4Mul)
    .get(t.xr)
    .simd(Simd.f32x4Add)
    .f32x4(1)
    .simd(Simd.f32x4Add)
    .set(t.p);
  // 2^fx: (int(fx) + 127) << 23 as float bits.
  f.get(t.p)
    .get(t.fx)
    .simd(Simd.i32x4TruncSatF32x4S)
    .i32x4(127)
    .simd(Simd.i32x4Add)
    .i32(23)
    .simd(Simd.i32x4Shl)
    .simd(Simd.f32x4Mul);
}

/** for (i = 0; i < count·4 bytes; i += 16) body(i) */
function vecLoop(f: Fn, count: Local, body: (i: Local) => void): void {
  const i = f.local(I32);
  const end = f.local(I32);
  f.get(count).i32(2).op(Op.i32Shl).set(end);
  f.i32(0).set(i);
  f.whileLt(i, end, 16, () => body(i));
}

function activation(f: Fn, kind: 'tanh' | 'sigmoid'): void {
  const [src, rOut, sOut, count] = [0, 1, 2, 3].map((i) => f.param(i));
  const x = f.local(V128);
  const e = f.local(V128);
  const r = f.local(V128);
  const t = { fx: f.local(V128), xr: f.local(V128), p: f.local(V128) };
  const small = f.local(V128);
  const z = f.local(V128);
  const ts = f.local(V128);
  vecLoop(f, count, (i) => {
    f.get(src).get(i).op(Op.i32Add).vload().set(x);
    if (kind === 'sigmoid') {
      // r = 1 / (1 + e^−x)
      f.get(x).simd(Simd.f32x4Neg).set(e);
      expInto(f, e, t);
      f.set(e);
      f.f32x4(1).f32x4(1).get(e).simd(Simd.f32x4Add).simd(Simd.f32x4Div).set(r);
      // s = r (1 − r)
      f.get(sOut).get(i).op(Op.i32Add);
      f.get(r).f32x4(1).get(r).simd(Simd.f32x4Sub).simd(Simd.f32x4Mul).vstore();
    } else {
      // |x| < 0.625: Cephes' odd polynomial; otherwise 1 − 2/(e^{2|x|} + 1) with x's sign.
      f.get(x).simd(Simd.f32x4Abs).tee(e).f32x4(0.625).simd(Simd.f32x4Lt).set(small);
      f.get(x).get(x).simd(Simd.f32x4Mul).set(z);
      f.f32x4(-5.70498872745e-3);
      for (const cf of [2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1, -3.33332819422e-1])
        f.get(z).simd(Simd.f32x4Mul).f32x4(cf).simd(Simd.f32x4Add);
      f.get(z).simd(Simd.f32x4Mul).get(x).simd(Simd.f32x4Mul).get(x).simd(Simd.f32x4Add).set(ts);
      f.get(e).get(e).simd(Simd.f32x4Add).set(e);
      expInto(f, e, t);
      f.set(e);
      f.f32x4(1)
        .f32x4(2)
        .get(e)
        .f32x4(1)
        .simd(Simd.f32x4Add)
        .simd(Simd.f32x4Div)
        .simd(Simd.f32x4Sub)
        .set(r);
      // copysign(r, x)
      f.get(x).get(r).i32x4(-0x80000000).simd(Simd.v128Bitselect).set(r);
      f.get(ts).get(r).get(small).simd(Simd.v128Bitselect).set(r);
      // s = 1 − r²
      f.get(sOut).get(i).op(Op.i32Add);
      f.f32x4(1).get(r).get(r).simd(Simd.f32x4Mul).simd(Simd.f32x4Sub).vstore();
    }
    f.get(rOut).get(i).op(Op.i32Add).get(r).vstore();
  });
}

function eulerPhi(f: Fn): void {
  const [x, a, d, p, out, count, coef] = [0, 1, 2, 3, 4, 5, 6].map((i) => f.param(i));
  const cv = f.local(V128);
  const xv = f.local(V128);
  f.get(coef).simd(Simd.f32x4Splat).set(cv);
  vecLoop(f, count, (i) => {
    f.get(out).get(i).op(Op.i32Add);
    f.get(x).get(i).op(Op.i32Add).vload().set(xv);
    f.get(xv);
    f.get(a).get(i).op(Op.i32Add).vload();
    f.get(d).get(i).op(Op.i32Add).vload();
    f.simd(Simd.f32x4Add);
    f.get(p).get(i).op(Op.i32Add).vload();
    f.simd(Simd.f32x4Add);
    f.get(xv).simd(Simd.f32x4Sub);
    f.get(cv).simd(Simd.f32x4Mul).simd(Simd.f32x4Add);
    f.vstore();
  });
}

function eulerPsi(f: Fn): void {
  const [x, s, p, out, count, coef] = [0, 1, 2, 3, 4, 5].map((i) => f.param(i));
  const cv = f.local(V128);
  const xv = f.local(V128);
  f.get(coef).simd(Simd.f32x4Splat).set(cv);
  vecLoop(f, count, (i) => {
    f.get(out).get(i).op(Op.i32Add);
    f.get(x).get(i).op(Op.i32Add).vload().set(xv);
    f.get(xv);
    f.get(s).get(i).op(Op.i32Add).vload();
    f.get(p).get(i).op(Op.i32Add).vload();
    f.simd(Simd.f32x4Mul);
    f.get(xv).simd(Simd.f32x4Sub);
    f.get(cv).simd(Simd.f32x4Mul).simd(Simd.f32x4Add);
    f.vstore();
  });
}

function sumsq(f: Fn): void {
  const [prev, next, count, out] = [0, 1, 2, 3].map((i) => f.param(i));
  const dAcc = f.local(V128);
  const nAcc = f.local(V128);
  const nv = f.local(V128);
  const dv = f.local(V128);
  f.f32x4(0).set(dAcc).f32x4(0).set(nAcc);
  vecLoop(f, count, (i) => {
    f.get(next).get(i).op(Op.i32Add).vload().set(nv);
    f.get(nv).get(prev).get(i).op(Op.i32Add).vload().simd(Simd.f32x4Sub).set(dv);
    f.get(dAcc).get(dv).get(dv).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).set(dAcc);
    f.get(nAcc).get(nv).get(nv).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).set(nAcc);
  });
  for (const [acc, off] of [
    [dAcc, 0],
    [nAcc, 8],
  ] as const) {
    f.get(out);
    for (let l = 0; l < 4; l++) {
      f.get(acc).lane(l).op(Op.f64PromoteF32);
      if (l > 0) f.op(Op.f64Add);
    }
    f.f64store(off);
  }
}

export function buildSimdModule(o: SimdOptions): Uint8Array {
  const mod = new ModuleBuilder({
    module: 'env',
    field: 'memory',
    minPages: o.minPages,
    maxPages: o.maxPages,
    shared: o.shared,
  });
  mod.func('gemm', Array(10).fill(I32), [], (f) => gemm(f, o));
  mod.func('tanh', [I32, I32, I32, I32], [], (f) => activation(f, 'tanh'));
  mod.func('sigmoid', [I32, I32, I32, I32], [], (f) => activation(f, 'sigmoid'));
  mod.func('eulerPhi', [I32, I32, I32, I32, I32, I32, F32], [], eulerPhi);
  mod.func('eulerPsi', [I32, I32, I32, I32, I32, F32], [], eulerPsi);
  mod.func('sumsq', [I32, I32, I32, I32], [], sumsq);
  return mod.bytes();
}

/** Does this engine run WASM SIMD (and relaxed SIMD's madd)? */
export function simdSupport(): { simd: boolean; relaxed: boolean } {
  const probe = (fma: boolean) => {
    try {
      return WebAssembly.validate(
        buildSimdModule({ fma, shared: false, minPages: 1 }) as Uint8Array<ArrayBuffer>,
      );
    } catch {
      return false;
    }
  };
  const simd = probe(false);
  return { simd, relaxed: simd && probe(true) };
}

/** Instantiate the kernels over `memory` (synchronously: workers and Node allow any size). */
export function instantiateSimd(memory: WebAssembly.Memory, fma: boolean): SimdExports {
  const shared =
    typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const bytes = buildSimdModule({ fma, shared, minPages: 1, maxPages: shared ? 65536 : undefined });
  const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as SimdExports;
}
