/**
 * The fused Euler step as one WebAssembly module, written with the encoder of emit.ts and
 * compiled at start-up (no toolchain). One call runs a whole dispatch: up to `steps` Euler steps
 * of dynamics.ts's eulerStep — activations, loss gradient, u, every product, the φ, ψ, y and u_I
 * updates, the per-block sums and the solver's stopping rule — with no JavaScript per step.
 *
 * Exports (all pointers are byte addresses in the imported memory; ctx is layout.ts's block):
 *   dispatch(ctx)        run the job in ctx (waking the helper threads when ctx.threads > 1)
 *   worker(ctx, tid, seen)  a helper thread's loop: wait for a job, run its share, until quit
 *   gemm(...)            the packed GEMM alone (tests and measurements)
 *   packPanels(...)      a weight matrix into the GEMM's 16-column panels
 *   transpose(...)       a matrix transposed (a product's left operand)
 * A dispatch whose ctx.job is JOB.product runs one product C = X·Y on the threads instead (rows
 * split; engineMatMul.ts).
 *
 * Products: gemm.ts's packed GEMM (weights packed in 16-column panels by stepper.ts). Every
 * element of C is the same chain of multiply-adds in the same order whatever tile or thread
 * computes it, so results do not depend on the thread count.
 *
 * Readout `units` (ctx.units = 1) drops the products with D (Dρ(φ), and Dᵀu or F u): updateN
 * adds u to the output units' ψ drive after the slope and copies their φ′ into y′.
 *
 * Threads split the batch by rows (ctx.split = 0) or, for small batches, the 16-column panels
 * (split = 1). Panels meet at a barrier every step; rows only exchange their row sums, a thread
 * computing step t before it decides on step t − 1. Three state sets are used in turn, so the step
 * computed ahead never overwrites either state a job may end on.
 */
import {
  Atomic,
  F32,
  F64,
  Fn,
  I32,
  ModuleBuilder,
  Op,
  Simd,
  V128,
  type Local,
  type ValType,
} from './emit';
import { EPS32, NORM_FLOOR } from '../spec';
import { gemm, packPanels, type GemmOptions } from './gemm';
import { D, F, F32_AT, F64_AT, I, JOB, KIND, MAX_THREADS, SYNC } from './layout';

export interface StepModuleOptions extends GemmOptions {
  /** Import the memory as shared (threads). */
  shared: boolean;
  /** Spin iterations before a thread sleeps in memory.atomic.wait32. */
  spin?: number;
}

const i32s = (n: number): ValType[] => Array<ValType>(n).fill(I32);

/** Spin iterations before a waiting thread sleeps (a step at 256 × 64 takes a few hundred µs). */
const SPIN = 20000;

/**
 * e^x for x in a v128 local (Cephes' expf: range reduction by ln 2, a degree-5 polynomial, 2ⁿ
 * from the exponent bits); x is clamped to ±88. Leaves the result on the stack.
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
  f.f32x4(1.98756915e-4);
  for (const cf of [
    1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1,
  ])
    f.get(t.xr).simd(Simd.f32x4Mul).f32x4(cf).simd(Simd.f32x4Add);
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

/**
 * ln z for z > 0 in a v128 local (Cephes' logf: z = m·2^e with m in [√½, √2), a degree-8
 * polynomial in m − 1). Leaves the result on the stack.
 */
function logInto(f: Fn, z: Local, t: { e: Local; m: Local; mask: Local; z2: Local }): void {
  // e = exponent − 126, m = mantissa in [0.5, 1)
  f.get(z).i32(23).simd(Simd.i32x4ShrS).i32x4(126).simd(Simd.i32x4Sub).set(t.e);
  f.get(z).i32x4(0x007fffff).simd(Simd.v128And).i32x4(0x3f000000).simd(Simd.v128Or).set(t.m);
  // m < √½: e −= 1, m = 2m − 1; else m = m − 1
  f.get(t.m).f32x4(Math.SQRT1_2).simd(Simd.f32x4Lt).set(t.mask);
  f.get(t.e).get(t.mask).simd(Simd.i32x4Add).set(t.e);
  f.get(t.m)
    .f32x4(1)
    .simd(Simd.f32x4Sub)
    .get(t.m)
    .get(t.mask)
    .simd(Simd.v128And)
    .simd(Simd.f32x4Add)
    .set(t.m);
  f.get(t.e).simd(Simd.f32x4ConvertI32x4S).set(t.e);
  f.get(t.m).get(t.m).simd(Simd.f32x4Mul).set(t.z2);
  f.f32x4(7.0376836292e-2);
  for (const cf of [
    -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
    2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
  ])
    f.get(t.m).simd(Simd.f32x4Mul).f32x4(cf).simd(Simd.f32x4Add);
  f.get(t.m).simd(Simd.f32x4Mul).get(t.z2).simd(Simd.f32x4Mul);
  // y += e·(−2.12194440e−4) − 0.5·z2;  result = m + y + e·0.693359375
  f.get(t.e).f32x4(-2.1219444e-4).simd(Simd.f32x4Mul).simd(Simd.f32x4Add);
  f.get(t.z2).f32x4(-0.5).simd(Simd.f32x4Mul).simd(Simd.f32x4Add);
  f.get(t.m).simd(Simd.f32x4Add);
  f.get(t.e).f32x4(0.693359375).simd(Simd.f32x4Mul).simd(Simd.f32x4Add);
}

/** for (i = 0; i < countBytes; i += 16) body(i) */
function vecLoop(f: Fn, countBytes: Local, body: (i: Local) => void): void {
  const i = f.local(I32);
  f.i32(0).set(i);
  f.whileLt(i, countBytes, 16, () => body(i));
}

/** act(src, r, s, count, kind): r = ρ(src), s = ρ′(src) over `count` floats (a multiple of 4). */
function activation(f: Fn): void {
  const [src, rOut, sOut, count, kind] = [0, 1, 2, 3, 4].map((i) => f.param(i));
  const bytes = f.local(I32);
  const x = f.local(V128);
  const e = f.local(V128);
  const r = f.local(V128);
  const t = { fx: f.local(V128), xr: f.local(V128), p: f.local(V128) };
  const lt = { e: f.local(V128), m: f.local(V128), mask: f.local(V128), z2: f.local(V128) };
  const small = f.local(V128);
  const z = f.local(V128);
  const ts = f.local(V128);
  f.get(count).i32(2).op(Op.i32Shl).set(bytes);
  const load = (i: Local) => f.get(src).get(i).op(Op.i32Add).vload().set(x);
  const storeR = (i: Local) => f.get(rOut).get(i).op(Op.i32Add).get(r).vstore();
  const storeS = (i: Local, value: () => void) => {
    f.get(sOut).get(i).op(Op.i32Add);
    value();
    f.vstore();
  };
  const sigmoidOf = (v: Local) => {
    // r = 1 / (1 + e^−v)
    f.get(v).simd(Simd.f32x4Neg).set(e);
    expInto(f, e, t);
    f.set(e);
    f.f32x4(1).f32x4(1).get(e).simd(Simd.f32x4Add).simd(Simd.f32x4Div);
  };
  const tanh = () =>
    vecLoop(f, bytes, (i) => {
      load(i);
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
      // copysign(r, x), then the polynomial where |x| is small
      f.get(x).get(r).i32x4(-0x80000000).simd(Simd.v128Bitselect).set(r);
      f.get(ts).get(r).get(small).simd(Simd.v128Bitselect).set(r);
      storeR(i);
      storeS(i, () => f.f32x4(1).get(r).get(r).simd(Simd.f32x4Mul).simd(Simd.f32x4Sub));
    });
  const sigmoid = () =>
    vecLoop(f, bytes, (i) => {
      load(i);
      sigmoidOf(x);
      f.set(r);
      storeR(i);
      storeS(i, () => f.get(r).f32x4(1).get(r).simd(Simd.f32x4Sub).simd(Simd.f32x4Mul));
    });
  const linear = () =>
    vecLoop(f, bytes, (i) => {
      load(i);
      f.get(x).set(r);
      storeR(i);
      storeS(i, () => f.f32x4(1));
    });
  // tfjs's softplus: e^x below log(ε) + 2, x above −(log(ε) + 2), log(1 + e^x) between.
  const threshold = Math.log(1.1920928955078125e-7) + 2;
  const softplus = () =>
    vecLoop(f, bytes, (i) => {
      load(i);
      f.get(x).set(z);
      expInto(f, z, t);
      f.set(ts); // e^x
      f.get(ts).f32x4(1).simd(Simd.f32x4Add).set(z);
      logInto(f, z, lt);
      f.set(r); // log(1 + e^x)
      f.get(ts).get(r).get(x).f32x4(threshold).simd(Simd.f32x4Lt).simd(Simd.v128Bitselect).set(r);
      f.get(x).get(r).get(x).f32x4(-threshold).simd(Simd.f32x4Gt).simd(Simd.v128Bitselect).set(r);
      storeR(i);
      storeS(i, () => sigmoidOf(x));
    });
  f.get(kind)
    .i32(0)
    .op(Op.i32Eq)
    .if_(tanh, () =>
      f
        .get(kind)
        .i32(1)
        .op(Op.i32Eq)
        .if_(sigmoid, () => f.get(kind).i32(2).op(Op.i32Eq).if_(linear, softplus)),
    );
}

/**
 * rowsums(aPhi, aPsi, aY, aUI, bPhi, bPsi, bY, bUI, r0, r1, np, kq, out): for each row, per
 * block (φ, y, u_I, ψ), Σ(b − a)² and Σ b² as f64 at out + 64·row (8 values). The same chain of
 * float32 operations per row whoever computes it.
 */
function rowSums(f: Fn): void {
  const [aPhi, aPsi, aY, aUI, bPhi, bPsi, bY, bUI, r0, r1, np, kq, out] = Array.from(
    { length: 13 },
    (_, i) => f.param(i),
  );
  const row = f.local(I32);
  const rb = f.local(I32);
  const kb = f.local(I32);
  const dAcc = f.local(V128);
  const nAcc = f.local(V128);
  const nv = f.local(V128);
  const dv = f.local(V128);
  const o = f.local(I32);
  const stop = f.local(I32);
  f.get(np).i32(2).op(Op.i32Shl).set(rb);
  f.get(kq).i32(2).op(Op.i32Shl).set(kb);
  const block = (a: Local, b: Local, rowBytes: Local, slot: number) => {
    f.f32x4(0).set(dAcc).f32x4(0).set(nAcc);
    f.get(row).get(rowBytes).op(Op.i32Mul).set(o);
    f.get(o).get(rowBytes).op(Op.i32Add).set(stop);
    f.whileLt(o, stop, 16, () => {
      f.get(b).get(o).op(Op.i32Add).vload().set(nv);
      f.get(nv).get(a).get(o).op(Op.i32Add).vload().simd(Simd.f32x4Sub).set(dv);
      f.get(dAcc).get(dv).get(dv).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).set(dAcc);
      f.get(nAcc).get(nv).get(nv).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).set(nAcc);
    });
    for (const [acc, k] of [
      [dAcc, 0],
      [nAcc, 1],
    ] as const) {
      f.get(out).get(row).i32(6).op(Op.i32Shl).op(Op.i32Add);
      for (let l = 0; l < 4; l++) {
        f.get(acc).lane(l).op(Op.f64PromoteF32);
        if (l > 0) f.op(Op.f64Add);
      }
      f.f64store(16 * slot + 8 * k);
    }
  };
  f.get(r0).set(row);
  f.whileLt(row, r1, 1, () => {
    block(aPhi, bPhi, rb, 0);
    block(aY, bY, kb, 1);
    block(aUI, bUI, kb, 2);
    block(aPsi, bPsi, rb, 3);
  });
}

/**
 * The φ and ψ updates over rows [r0, r1) × columns [c0, c1) (floats):
 *   φ′ = φ + c_φ((A + drive + ψ_used) − φ)
 *   dynamic inversion: ψ′ = ψ + c_ψ(s·P − ψ);  linear feedback: ψ′ = P (= Q u), ψ_used = P
 * Readout `units` (units ≠ 0), on the output units' columns n − k … n − 1 within the share:
 *   dynamic inversion: ψ′ = ψ + c_ψ((s·P + u) − ψ) (Pᵀu joins after the slope), and y′ = φ′_y —
 *   written by whichever thread owns the column, so that the y block is complete at the barrier.
 * params: aPhi, aPsi, bPhi, bPsi, A, drive, P, s, r0, r1, c0, c1, np, kind, bY, u, n, k, kq,
 * units, cPhi, cPsi
 */
function updateN(f: Fn): void {
  const [aPhi, aPsi, bPhi, bPsi, A, drive, P, s, r0, r1, c0, c1, np, kind] = Array.from(
    { length: 14 },
    (_, i) => f.param(i),
  );
  const [bY, u, n, k, kq, units, cPhi, cPsi] = Array.from({ length: 8 }, (_, i) => f.param(14 + i));
  const row = f.local(I32);
  const o = f.local(I32);
  const stop = f.local(I32);
  const cpv = f.local(V128);
  const csv = f.local(V128);
  const xv = f.local(V128);
  const pv = f.local(V128);
  const drv = f.local(V128);
  const rv = f.local(V128);
  const keepv = f.local(V128);
  f.get(cPhi).simd(Simd.f32x4Splat).set(cpv);
  f.get(cPsi).simd(Simd.f32x4Splat).set(csv);
  // c_φ = 0 (φ frozen: RBP's adjoint, M(φ)u): φ′ = φ exactly, and A = ρ(φ)Wᵀ was not computed.
  f.get(cPhi).f32(0).op(Op.f32Ne).i32(1).op(Op.i32Sub).simd(Simd.i32x4Splat).set(keepv);
  const at = (base: Local) => f.get(base).get(o).op(Op.i32Add);
  const loop = (body: () => void) => {
    f.get(r0).set(row);
    f.whileLt(row, r1, 1, () => {
      f.get(row).get(np).op(Op.i32Mul).get(c0).op(Op.i32Add).i32(2).op(Op.i32Shl).set(o);
      f.get(row).get(np).op(Op.i32Mul).get(c1).op(Op.i32Add).i32(2).op(Op.i32Shl).set(stop);
      f.whileLt(o, stop, 16, body);
    });
  };
  // φ′ from the drive (A + drive) and ψ_used (on the stack when `withPsi`).
  const phi = (psiUsed: (() => void) | null) => {
    at(bPhi);
    at(aPhi).vload().set(xv);
    f.get(xv);
    at(A).vload();
    at(drive).vload();
    f.simd(Simd.f32x4Add).set(drv);
    f.get(drv);
    if (psiUsed) {
      psiUsed();
      f.simd(Simd.f32x4Add);
    }
    f.get(xv).simd(Simd.f32x4Sub).get(cpv).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).set(rv);
    f.get(xv).get(rv).get(keepv).simd(Simd.v128Bitselect).vstore();
  };
  f.get(kind)
    .i32(KIND.free)
    .op(Op.i32Eq)
    .if_(
      () => loop(() => phi(null)),
      () =>
        f
          .get(kind)
          .i32(KIND.dynamic)
          .op(Op.i32Eq)
          .if_(
            () =>
              loop(() => {
                // ψ′ = ψ + c_ψ(s·P − ψ), then φ′ with the old ψ
                at(aPsi).vload().set(pv);
                at(bPsi);
                f.get(pv);
                at(s).vload();
                at(P).vload();
                f.simd(Simd.f32x4Mul)
                  .get(pv)
                  .simd(Simd.f32x4Sub)
                  .get(csv)
                  .simd(Simd.f32x4Mul)
                  .simd(Simd.f32x4Add)
                  .vstore();
                phi(() => f.get(pv));
              }),
            () =>
              loop(() => {
                at(P).vload().set(pv);
                at(bPsi).get(pv).vstore();
                phi(() => f.get(pv));
              }),
          ),
    );
  // Readout `units`: redo ψ′ of the output units with u, and copy φ′_y into y′ (one float at a
  // time: k columns per row, next to the n² of the products).
  f.get(units).if_(() => {
    const first = f.local(I32);
    const lo = f.local(I32);
    const hi = f.local(I32);
    const j = f.local(I32);
    const ob = f.local(I32);
    const xs = f.local(F32);
    f.get(n).get(k).op(Op.i32Sub).set(first);
    // [lo, hi) = [max(c0, n − k), min(c1, n))
    f.get(c0).get(first).get(c0).get(first).op(Op.i32GtS).op(Op.select).set(lo);
    f.get(c1).get(n).get(c1).get(n).op(Op.i32LtS).op(Op.select).set(hi);
    f.get(r0).set(row);
    f.whileLt(row, r1, 1, () => {
      f.get(lo).set(j);
      f.whileLt(j, hi, 1, () => {
        // o = 4(row·np + j); ob = 4(row·kq + j − (n − k)), output j − (n − k) of the row
        f.get(row).get(np).op(Op.i32Mul).get(j).op(Op.i32Add).i32(2).op(Op.i32Shl).set(o);
        f.get(row).get(kq).op(Op.i32Mul).get(j).op(Op.i32Add).get(first).op(Op.i32Sub);
        f.i32(2).op(Op.i32Shl).set(ob);
        f.get(kind)
          .i32(KIND.dynamic)
          .op(Op.i32Eq)
          .if_(() => {
            at(aPsi).f32load().set(xs);
            at(bPsi);
            f.get(xs);
            at(s).f32load();
            at(P).f32load();
            f.op(Op.f32Mul);
            f.get(u).get(ob).op(Op.i32Add).f32load();
            f.op(Op.f32Add).get(xs).op(Op.f32Sub).get(cPsi).op(Op.f32Mul).op(Op.f32Add);
            f.f32store();
          });
        f.get(bY).get(ob).op(Op.i32Add);
        at(bPhi).f32load();
        f.f32store();
      });
    });
  });
}

/**
 * The output-side scalars of rows [r0, r1) (k values each): g = ∂L/∂y (mse: y − t;
 * cross-entropy: softmax(y) − t) and u = k_i u_I − k_p g.
 * params: aY, aUI, target, g, u, r0, r1, k, kq, loss, ki, kp
 */
function outputControl(f: Fn): void {
  const [aY, aUI, target, g, u, r0, r1, k, kq, loss, ki, kp] = Array.from({ length: 12 }, (_, i) =>
    f.param(i),
  );
  const row = f.local(I32);
  const base = f.local(I32);
  const c = f.local(I32);
  const end = f.local(I32);
  const mx = f.local(F32);
  const sum = f.local(F32);
  const ev = f.local(V128);
  const t = { fx: f.local(V128), xr: f.local(V128), p: f.local(V128) };
  const kb = f.local(I32);
  f.get(kq).i32(2).op(Op.i32Shl).set(kb);
  f.get(k).i32(2).op(Op.i32Shl).set(end);
  f.get(r0).set(row);
  f.whileLt(row, r1, 1, () => {
    f.get(row).get(kb).op(Op.i32Mul).set(base);
    // c runs over bytes base … base + 4k
    const overK = (body: () => void) => {
      f.i32(0).set(c);
      f.whileLt(c, end, 4, body);
    };
    const addr = (p: Local) => f.get(p).get(base).op(Op.i32Add).get(c).op(Op.i32Add);
    f.get(loss)
      .i32(0)
      .op(Op.i32Eq)
      .if_(
        () =>
          overK(() => {
            addr(g);
            addr(aY).f32load();
            addr(target).f32load();
            f.op(Op.f32Sub).f32store();
          }),
        () => {
          // softmax(y) − t: max, e^(y − max) over the padded row, the sum over the first k.
          f.f32(-Infinity).set(mx);
          overK(() => {
            f.get(mx);
            addr(aY).f32load();
            f.op(Op.f32Max).set(mx);
          });
          const v = f.local(I32);
          f.i32(0).set(v);
          f.whileLt(v, kb, 16, () => {
            f.get(aY).get(base).op(Op.i32Add).get(v).op(Op.i32Add).vload();
            f.get(mx).simd(Simd.f32x4Splat).simd(Simd.f32x4Sub).set(ev);
            expInto(f, ev, t);
            f.set(ev);
            f.get(g).get(base).op(Op.i32Add).get(v).op(Op.i32Add).get(ev).vstore();
          });
          f.f32(0).set(sum);
          overK(() => {
            f.get(sum);
            addr(g).f32load();
            f.op(Op.f32Add).set(sum);
          });
          overK(() => {
            addr(g);
            addr(g).f32load();
            f.get(sum).op(Op.f32Div);
            addr(target).f32load();
            f.op(Op.f32Sub).f32store();
          });
        },
      );
    overK(() => {
      addr(u);
      f.get(ki);
      addr(aUI).f32load();
      f.op(Op.f32Mul).f32store();
    });
    // k_p = 0 leaves u = k_i u_I exactly, as the reference does.
    f.get(kp)
      .f32(0)
      .op(Op.f32Ne)
      .if_(() =>
        overK(() => {
          addr(u);
          addr(u).f32load();
          f.get(kp);
          addr(g).f32load();
          f.op(Op.f32Mul).op(Op.f32Sub).f32store();
        }),
      );
  });
}

/**
 * The output-side updates of rows [r0, r1):
 *   y′ = y + c_y((yd + d + u) − y)  (free: without u),  u_I′ = u_I + c_u(−(g + α u_I))
 * Readout `units` (units ≠ 0) leaves y′ alone: updateN writes it (y′ = φ′_y).
 * params: aY, aUI, bY, bUI, yd, d, g, u, r0, r1, k, kq, controlled, units, cY, cU, alpha
 */
function updateK(f: Fn): void {
  const [aY, aUI, bY, bUI, yd, d, g, u, r0, r1, k, kq, controlled, units, cY, cU, alpha] =
    Array.from({ length: 17 }, (_, i) => f.param(i));
  const row = f.local(I32);
  const base = f.local(I32);
  const c = f.local(I32);
  const end = f.local(I32);
  const kb = f.local(I32);
  const yv = f.local(F32);
  const uv = f.local(F32);
  f.get(kq).i32(2).op(Op.i32Shl).set(kb);
  f.get(k).i32(2).op(Op.i32Shl).set(end);
  f.get(r0).set(row);
  f.whileLt(row, r1, 1, () => {
    f.get(row).get(kb).op(Op.i32Mul).set(base);
    f.i32(0).set(c);
    f.whileLt(c, end, 4, () => {
      const addr = (p: Local) => f.get(p).get(base).op(Op.i32Add).get(c).op(Op.i32Add);
      f.get(units)
        .op(Op.i32Eqz)
        .if_(() => {
          addr(aY).f32load().set(yv);
          addr(bY);
          f.get(yv);
          addr(yd).f32load();
          f.get(d).get(c).op(Op.i32Add).f32load();
          f.op(Op.f32Add);
          // + u when controlled (select: the free path adds nothing, whatever the buffer holds)
          addr(u).f32load();
          f.f32(0).get(controlled).op(Op.select).op(Op.f32Add);
          f.get(yv).op(Op.f32Sub).get(cY).op(Op.f32Mul).op(Op.f32Add).f32store();
        });
      f.get(controlled).if_(() => {
        addr(aUI).f32load().set(uv);
        addr(bUI);
        f.get(uv);
        addr(g).f32load();
        f.get(alpha).get(uv).op(Op.f32Mul).op(Op.f32Add).op(Op.f32Neg);
        f.get(cU).op(Op.f32Mul).op(Op.f32Add).f32store();
      });
    });
  });
}

/**
 * Spin on the word at addr + offset until `ready` holds for the value read (it pushes an i32),
 * then sleep on it (memory.atomic.wait32), counted in ctx's waiters so that a writer wakes it.
 */
function waitFor(
  f: Fn,
  ctx: Local,
  addr: Local,
  offset: number,
  ready: (value: Local) => void,
  o: StepModuleOptions,
): void {
  const spins = f.local(I32);
  const value = f.local(I32);
  f.i32(0).set(spins);
  f.block(() =>
    f.loop(() => {
      f.get(addr).atomic(Atomic.i32Load, offset).set(value);
      ready(value);
      f.brIf(1);
      f.get(spins).i32(1).op(Op.i32Add).tee(spins);
      f.i32(o.spin ?? SPIN)
        .op(Op.i32GtS)
        .if_(() => {
          f.get(ctx).i32(1).atomic(Atomic.i32RmwAdd, SYNC.waiters).op(Op.drop);
          f.get(addr).get(value).i64(-1).atomic(Atomic.wait32, offset).op(Op.drop);
          f.get(ctx).i32(-1).atomic(Atomic.i32RmwAdd, SYNC.waiters).op(Op.drop);
        });
      f.br(0);
    }),
  );
}

/** Spin on a ctx word until it differs from `seen`, then sleep on it. */
function waitWhileEqual(f: Fn, ctx: Local, offset: number, seen: Local, o: StepModuleOptions) {
  waitFor(f, ctx, ctx, offset, (v) => f.get(v).get(seen).op(Op.i32Ne), o);
}

/**
 * Wake every sleeper on the word at addr + offset (only when someone sleeps, by ctx's waiters:
 * a notify costs a lock).
 */
function wake(f: Fn, ctx: Local, offset: number, addr: Local = ctx): void {
  f.get(ctx)
    .atomic(Atomic.i32Load, SYNC.waiters)
    .if_(() => {
      f.get(addr).i32(0x7fffffff).atomic(Atomic.notify, offset).op(Op.drop);
    });
}

/** barrier(ctx, T): all T threads arrive before any leaves. */
function barrier(f: Fn, o: StepModuleOptions): void {
  const [ctx, T] = [f.param(0), f.param(1)];
  const gen = f.local(I32);
  f.get(T)
    .i32(2)
    .op(Op.i32LtS)
    .if_(() => f.op(Op.return));
  f.get(ctx).atomic(Atomic.i32Load, SYNC.barGen).set(gen);
  f.get(ctx)
    .i32(1)
    .atomic(Atomic.i32RmwAdd, SYNC.barCount)
    .get(T)
    .i32(1)
    .op(Op.i32Sub)
    .op(Op.i32Eq)
    .if_(
      () => {
        f.get(ctx).i32(0).atomic(Atomic.i32Store, SYNC.barCount);
        f.get(ctx).i32(1).atomic(Atomic.i32RmwAdd, SYNC.barGen).op(Op.drop);
        wake(f, ctx, SYNC.barGen);
      },
      () => waitWhileEqual(f, ctx, SYNC.barGen, gen, o),
    );
}

/**
 * awaitStep(ctx, T, step): wait until each of the T threads has posted `step` (rows split: its
 * row sums of that step are written). A function of its own: V8's baseline compiler (Node 20)
 * lost track of the caller's locals across memory.atomic.wait32 inside the long run().
 */
function awaitStep(f: Fn, o: StepModuleOptions): void {
  const [ctx, T, step] = [f.param(0), f.param(1), f.param(2)];
  const j = f.local(I32);
  const addr = f.local(I32);
  f.i32(0).set(j);
  f.whileLt(j, T, 1, () => {
    f.get(ctx).get(j).i32(6).op(Op.i32Shl).op(Op.i32Add).set(addr);
    waitFor(f, ctx, addr, SYNC.posted, (v) => f.get(v).get(step).op(Op.i32GeS), o);
  });
}

/** run(ctx, tid): thread tid's share of the job; thread 0 writes the outputs. */
function run(f: Fn, mod: ModuleBuilder): void {
  const [ctx, tid] = [f.param(0), f.param(1)];
  const L = () => f.local(I32);
  const [B, n, k, np, kq, kind, loss, act, steps, T, split] = Array.from({ length: 11 }, L);
  const [r0, r1, p0, p1, ownsK, rowB, rowK, rT, sT, gT, uT, priv] = Array.from({ length: 12 }, L);
  const [cur, nxt, done, status, t, growing, sp, row, panels, units] = Array.from(
    { length: 10 },
    L,
  );
  const [aPhi, aPsi, aY, aUI, bPhi, bPsi, bY, bUI] = Array.from({ length: 8 }, L);
  const [cPhi, cY, cU, cPsi, alpha, ki, kp] = Array.from({ length: 7 }, () => f.local(F32));
  const fl = () => f.local(F64);
  const [dt, tol, last, best, residual, raw, rms, total, fuI] = Array.from({ length: 9 }, fl);
  const S = Array.from({ length: 8 }, fl);
  const nrm = Array.from({ length: 4 }, fl);
  const dif = Array.from({ length: 4 }, fl);
  const fX = fl();
  const bad = L();
  const call = (name: string) => f.call(mod.index(name));
  const ci = (slot: number) => f.get(ctx).i32load(4 * slot);
  const cf = (slot: number) => f.get(ctx).f32load(F32_AT + 4 * slot);
  const cd = (slot: number) => f.get(ctx).f64load(F64_AT + 8 * slot);

  ci(I.threads).set(T);
  f.get(tid)
    .get(T)
    .op(Op.i32GeS)
    .if_(() => f.op(Op.return));
  for (const [local, slot] of [
    [B, I.B],
    [n, I.n],
    [k, I.k],
    [np, I.np],
    [kq, I.kq],
    [kind, I.kind],
    [loss, I.loss],
    [act, I.act],
    [steps, I.steps],
    [split, I.split],
    [growing, I.growing],
    [units, I.units],
  ] as const)
    ci(slot).set(local);
  for (const [local, slot] of [
    [cPhi, F.cPhi],
    [cY, F.cY],
    [cU, F.cU],
    [cPsi, F.cPsi],
    [alpha, F.alpha],
    [ki, F.ki],
    [kp, F.kp],
  ] as const)
    cf(slot).set(local);
  for (const [local, slot] of [
    [dt, D.dt],
    [tol, D.tol],
    [last, D.lastResidual],
    [best, D.best],
  ] as const)
    cd(slot).set(local);
  f.get(np).i32(2).op(Op.i32Shl).set(rowB);
  f.get(kq).i32(2).op(Op.i32Shl).set(rowK);
  // This thread's buffers.
  const threadSlot = (j: number) => {
    f.get(ctx).get(tid).i32(5).op(Op.i32Mul).i32(j).op(Op.i32Add).i32(2).op(Op.i32Shl);
    f.op(Op.i32Add).i32load(4 * I.thread);
  };
  for (const [local, j] of [
    [rT, 0],
    [sT, 1],
    [gT, 2],
    [uT, 3],
    [priv, 4],
  ] as const) {
    threadSlot(j);
    f.set(local);
  }
  // Its share: rows, or column panels.
  f.get(np).i32(4).op(0x76 /* i32.shr_u */).set(panels);
  f.get(split).if_(
    () => {
      f.i32(0).set(r0);
      f.get(B).set(r1);
      f.get(tid).get(panels).op(Op.i32Mul).get(T).op(Op.i32DivS).set(p0);
      f.get(tid).i32(1).op(Op.i32Add).get(panels).op(Op.i32Mul).get(T).op(Op.i32DivS).set(p1);
      f.get(tid).op(Op.i32Eqz).set(ownsK);
    },
    () => {
      f.get(tid).get(B).op(Op.i32Mul).get(T).op(Op.i32DivS).set(r0);
      f.get(tid).i32(1).op(Op.i32Add).get(B).op(Op.i32Mul).get(T).op(Op.i32DivS).set(r1);
      f.i32(0).set(p0);
      f.get(panels).set(p1);
      f.i32(1).set(ownsK);
    },
  );
  f.i32(0).set(cur).i32(0).set(done).i32(0).set(status).i32(0).set(t);
  f.f64(NaN).set(residual).f64(NaN).set(raw).f64(NaN).set(rms);

  const setPtr = (set: Local, block: number) => {
    // ctx + 4·(sets + 4·set + block)
    f.get(ctx)
      .get(set)
      .i32(4)
      .op(Op.i32Shl)
      .op(Op.i32Add)
      .i32load(4 * (I.sets + block));
  };
  const rowOff = (base: Local, bytes: Local) =>
    f.get(base).get(r0).get(bytes).op(Op.i32Mul).op(Op.i32Add);
  // This thread's "posted" word: the last step whose row sums it has written (rows split).
  const postAddr = L();
  f.get(ctx).get(tid).i32(6).op(Op.i32Shl).op(Op.i32Add).set(postAddr);
  const post = (step: Local) => {
    f.get(postAddr).get(step).atomic(Atomic.i32Store, SYNC.posted);
    wake(f, ctx, SYNC.posted, postAddr);
  };
  const waitForPosts = (step: Local) => {
    f.get(ctx).get(T).get(step);
    call('awaitStep');
  };

  // Step t: t += 1, then state set (t mod 3) from set (t − 1) mod 3 on this thread's share.
  const computeStep = () => {
    f.get(t).i32(1).op(Op.i32Add).set(t);
    // next = (cur + 1) mod 3
    f.get(cur).i32(1).op(Op.i32Add).tee(nxt).i32(3).op(Op.i32Eq);
    f.if_(() => f.i32(0).set(nxt));
    for (const [local, set, blk] of [
      [aPhi, cur, 0],
      [aPsi, cur, 1],
      [aY, cur, 2],
      [aUI, cur, 3],
      [bPhi, nxt, 0],
      [bPsi, nxt, 1],
      [bY, nxt, 2],
      [bUI, nxt, 3],
    ] as const) {
      setPtr(set, blk);
      f.set(local);
    }
    // r, s = ρ(φ), ρ′(φ) for this thread's rows (every column: the products need whole rows);
    // with φ frozen (c_φ = 0: RBP's adjoint, M(φ)u) once per dispatch, as φ′ = φ bit for bit.
    f.get(t)
      .i32(1)
      .op(Op.i32Eq)
      .get(cPhi)
      .f32(0)
      .op(Op.f32Ne)
      .op(Op.i32Or)
      .if_(() => {
        rowOff(aPhi, rowB);
        rowOff(rT, rowB);
        rowOff(sT, rowB);
        f.get(r1).get(r0).op(Op.i32Sub).get(np).op(Op.i32Mul).get(act);
        call('act');
      });
    // g, u
    f.get(kind).if_(() => {
      f.get(aY)
        .get(aUI)
        .get(ctx)
        .i32load(4 * I.target)
        .get(gT)
        .get(uT);
      f.get(r0).get(r1).get(k).get(kq).get(loss).get(ki).get(kp);
      call('outputControl');
    });
    // A = ρ(φ)Wᵀ (and yd = ρ(φ)Dᵀ where this thread owns the outputs)
    const gemmCall = (
      x: Local,
      ldx: Local,
      ySlot: number,
      cSlot: number,
      ldc: Local,
      panelsFrom: () => void,
      m: Local,
      acc: number,
    ) => {
      f.get(x).get(ldx);
      f.get(ctx).i32load(4 * ySlot);
      f.get(ctx).i32load(4 * cSlot);
      f.get(ldc).get(r0).get(r1);
      panelsFrom();
      f.get(m).i32(acc);
      call('gemm');
    };
    const own = () => f.get(p0).get(p1);
    f.get(cPhi)
      .f32(0)
      .op(Op.f32Ne)
      .if_(() => gemmCall(rT, rowB, I.Y0, I.A, rowB, own, n, 0));
    // Readout `units` has no Dρ(φ) and no Dᵀu (or F u): u enters ψ in updateN.
    f.get(ownsK)
      .get(units)
      .op(Op.i32Eqz)
      .op(Op.i32And)
      .if_(() =>
        gemmCall(rT, rowB, I.Yd, I.yd, rowK, () => f.i32(0).get(kq).i32(4).op(0x76), n, 0),
      );
    f.get(kind)
      .i32(KIND.dynamic)
      .op(Op.i32Eq)
      .if_(() => {
        gemmCall(aPsi, rowB, I.Y1, I.P, rowB, own, n, 0);
        f.get(units)
          .op(Op.i32Eqz)
          .if_(() => gemmCall(uT, rowK, I.Y2, I.P, rowB, own, k, 1));
      });
    f.get(kind)
      .i32(KIND.linear)
      .op(Op.i32Eq)
      .if_(() => gemmCall(uT, rowK, I.Y2, I.P, rowB, own, k, 0));
    // φ′, ψ′ on this thread's rows × panels
    f.get(aPhi).get(aPsi).get(bPhi).get(bPsi);
    f.get(ctx).i32load(4 * I.A);
    f.get(ctx).i32load(4 * I.drive);
    f.get(ctx).i32load(4 * I.P);
    f.get(sT).get(r0).get(r1);
    f.get(p0).i32(4).op(Op.i32Shl).get(p1).i32(4).op(Op.i32Shl);
    f.get(np).get(kind);
    f.get(bY).get(uT).get(n).get(k).get(kq).get(units);
    f.get(cPhi).get(cPsi);
    call('updateN');
    // y′, u_I′
    f.get(ownsK).if_(() => {
      f.get(aY).get(aUI).get(bY).get(bUI);
      f.get(ctx).i32load(4 * I.yd);
      f.get(ctx).i32load(4 * I.d);
      f.get(gT).get(uT).get(r0).get(r1).get(k).get(kq);
      f.get(kind).i32(0).op(Op.i32Ne);
      f.get(units);
      f.get(cY).get(cU).get(alpha);
      call('updateK');
    });
  };
  // Sums per row: this thread's rows before the barrier (rows split), or every row after it
  // from the thread's own copy (panel split: other threads wrote parts of each row).
  const sums = (from: () => void, to: () => void, out: () => void) => {
    f.get(aPhi).get(aPsi).get(aY).get(aUI).get(bPhi).get(bPsi).get(bY).get(bUI);
    from();
    to();
    f.get(np).get(kq);
    out();
    call('rowSums');
  };
  // rowSums[step & 1]
  const shared = (step: Local) =>
    f
      .get(ctx)
      .get(step)
      .i32(1)
      .op(Op.i32And)
      .i32(2)
      .op(Op.i32Shl)
      .op(Op.i32Add)
      .i32load(4 * I.rowSums);

  /**
   * The stopping rule on step d's sums (at sp): accept it (done = d) or end the job with a status;
   * `exit` is the branch depth that leaves the step loop.
   */
  const decide = (d: Local, exit: number) => {
    // Block sums in row order, in float64.
    for (const s of S) f.f64(0).set(s);
    f.i32(0).set(row);
    f.whileLt(row, B, 1, () => {
      for (let i = 0; i < 8; i++)
        f.get(S[i])
          .get(sp)
          .get(row)
          .i32(6)
          .op(Op.i32Shl)
          .op(Op.i32Add)
          .f64load(8 * i)
          .op(Op.f64Add)
          .set(S[i]);
    });
    // The stopping rule (spec.ts's residualOf and StopRule, in float64).
    f.i32(0).set(bad);
    for (let i = 0; i < 4; i++) {
      f.get(S[2 * i])
        .op(Op.f64Sqrt)
        .set(dif[i]);
      f.get(S[2 * i + 1])
        .op(Op.f64Sqrt)
        .set(nrm[i]);
      for (const v of [dif[i], nrm[i]])
        f.get(v).get(v).op(Op.f64Sub).f64(0).op(Op.f64Ne).get(bad).op(Op.i32Or).set(bad);
    }
    f.get(S[1]).get(S[3]).op(Op.f64Add).get(S[5]).op(Op.f64Add).get(S[7]).op(Op.f64Add);
    f.op(Op.f64Sqrt).set(total);
    f.f64(0).set(residual).f64(0).set(raw).f64(0).set(rms);
    // float32 floors: φ, y, u_I: ε(‖X‖ + c_X‖state‖); ψ: ε(1 + c_ψ)‖ψ‖ + ‖ψ‖·floor(u_I)/‖u_I‖
    const coef = (i: number) => cd(D.coef + i);
    const floorOf = (i: number) => {
      f.get(nrm[i]);
      coef(i);
      f.get(total).op(Op.f64Mul).op(Op.f64Add).f64(EPS32).op(Op.f64Mul);
    };
    for (const i of [0, 1, 2, 3]) {
      if (i < 3) floorOf(i);
      else {
        f.f64(1);
        coef(3);
        f.op(Op.f64Add).get(nrm[3]).op(Op.f64Mul).f64(EPS32).op(Op.f64Mul);
        f.get(nrm[3]).get(fuI).op(Op.f64Mul).get(nrm[2]).f64(NORM_FLOOR).op(Op.f64Add);
        f.op(Op.f64Div).op(Op.f64Add);
      }
      f.set(fX);
      if (i === 2) f.get(fX).set(fuI);
      // residual = max(residual, max(0, d − f)/(dt(‖X‖ + 1e−6)))
      f.get(residual);
      f.get(dif[i]).get(fX).op(Op.f64Sub).f64(0).op(Op.f64Max);
      f.get(dt).get(nrm[i]).f64(NORM_FLOOR).op(Op.f64Add).op(Op.f64Mul);
      f.op(Op.f64Div).op(Op.f64Max).set(residual);
      f.get(raw);
      f.get(dif[i]).get(dt).get(nrm[i]).f64(NORM_FLOOR).op(Op.f64Add).op(Op.f64Mul).op(Op.f64Div);
      f.op(Op.f64Max).set(raw);
      // rms over blocks with units
      cd(D.sizes + i);
      f.f64(0)
        .op(Op.f64Gt)
        .if_(() => {
          f.get(rms).get(nrm[i]);
          cd(D.sizes + i);
          f.op(Op.f64Sqrt).op(Op.f64Div).op(Op.f64Max).set(rms);
        });
    }
    f.get(bad).if_(() => {
      f.f64(NaN).set(residual).f64(NaN).set(raw).f64(NaN).set(rms);
    });
    // growing = residual > last ? growing + 1 : 0; last = residual; best = min(best, residual)
    f.get(growing)
      .i32(1)
      .op(Op.i32Add)
      .i32(0)
      .get(residual)
      .get(last)
      .op(Op.f64Gt)
      .op(Op.select)
      .set(growing);
    f.get(residual).set(last);
    f.get(best).get(residual).op(Op.f64Min).set(best);
    f.get(bad).if_(() => {
      f.i32(2).set(status).br(exit);
    });
    f.get(rms)
      .f64(1e6)
      .op(Op.f64Gt)
      .if_(() => {
        f.i32(3).set(status).br(exit);
      });
    f.get(growing)
      .i32(500)
      .op(Op.i32GeS)
      .get(residual)
      .get(best)
      .f64(1e3)
      .op(Op.f64Mul)
      .op(Op.f64Gt)
      .op(Op.i32And)
      .if_(() => {
        f.i32(4).set(status).br(exit);
      });
    f.get(d).set(done);
    f.get(residual)
      .get(tol)
      .op(Op.f64Le)
      .if_(() => {
        f.i32(1).set(status).br(exit);
      });
  };
  const lagged = L();
  const prev = L();
  // Rows split on several threads: every row's dynamics are its own, so a thread computes step t
  // before it waits for the others' sums of step t − 1 and decides on that step. The decisions
  // are the same as with a barrier every step (same sums, same order); when one ends the job, the
  // step computed ahead is dropped (its set is neither of the two the result may be in).
  f.get(split).op(Op.i32Eqz).get(T).i32(1).op(Op.i32GtS).op(Op.i32And).set(lagged);
  f.get(lagged).if_(
    () =>
      f.block(() =>
        f.loop(() => {
          f.get(t)
            .get(steps)
            .op(Op.i32LtS)
            .if_(
              () => {
                computeStep();
                f.get(t)
                  .i32(1)
                  .op(Op.i32GtS)
                  .if_(() => {
                    f.get(t).i32(1).op(Op.i32Sub).set(prev);
                    waitForPosts(prev);
                    shared(prev);
                    f.set(sp);
                    decide(prev, 4);
                  });
                sums(
                  () => f.get(r0),
                  () => f.get(r1),
                  () => shared(t),
                );
                post(t);
                f.get(nxt).set(cur);
              },
              () => {
                // Every step computed: decide on the last.
                f.get(t).if_(() => {
                  waitForPosts(t);
                  shared(t);
                  f.set(sp);
                  decide(t, 4);
                });
                f.br(2);
              },
            );
          f.br(0);
        }),
      ),
    () =>
      f.block(() =>
        f.loop(() => {
          f.get(t).get(steps).op(Op.i32GeS).brIf(1);
          computeStep();
          f.get(split).if_(
            () => {},
            () =>
              sums(
                () => f.get(r0),
                () => f.get(r1),
                () => shared(t),
              ),
          );
          f.get(ctx).get(T);
          call('barrier');
          f.get(split).if_(
            () => {
              sums(
                () => f.i32(0),
                () => f.get(B),
                () => f.get(priv),
              );
              f.get(priv).set(sp);
            },
            () => {
              shared(t);
              f.set(sp);
            },
          );
          decide(t, 2);
          f.get(nxt).set(cur);
          f.br(0);
        }),
      ),
  );
  // The result's set: set s holds step s mod 3.
  f.get(done).i32(3).op(Op.i32RemS).set(cur);
  f.get(ctx).get(T);
  call('barrier');
  f.get(tid).if_(() => f.op(Op.return));
  const outI = (slot: number, v: Local) =>
    f
      .get(ctx)
      .get(v)
      .i32store(4 * slot);
  const outD = (slot: number, v: Local) =>
    f
      .get(ctx)
      .get(v)
      .f64store(F64_AT + 8 * slot);
  outI(I.done, done);
  outI(I.status, status);
  outI(I.cur, cur);
  outI(I.growing, growing);
  outD(D.residual, residual);
  outD(D.raw, raw);
  outD(D.rms, rms);
  outD(D.lastResidual, last);
  outD(D.best, best);
  for (let i = 0; i < 8; i++) outD(D.sums + i, S[i]);
}

/** transpose(src, rows, cols, dst): dst[c][r] = src[r][c] for a row-major src [rows, cols]. */
function transpose(f: Fn): void {
  const [src, rows, cols, dst] = [0, 1, 2, 3].map((i) => f.param(i));
  const r = f.local(I32);
  const c = f.local(I32);
  const from = f.local(I32);
  f.get(src).set(from);
  f.i32(0).set(r);
  f.whileLt(r, rows, 1, () => {
    f.i32(0).set(c);
    f.whileLt(c, cols, 1, () => {
      // dst + 4·(c·rows + r)
      f.get(dst).get(c).get(rows).op(Op.i32Mul).get(r).op(Op.i32Add).i32(2).op(Op.i32Shl);
      f.op(Op.i32Add);
      f.get(from).f32load().f32store();
      f.get(from).i32(4).op(Op.i32Add).set(from);
    });
  });
}

/**
 * product(ctx, tid): this thread's rows of a product job (JOB.product), in blocks of
 * PRODUCT_ROW_BLOCK rows (a block of X stays in L2 while every panel passes over it), then the
 * barrier that ends the job.
 */
function product(f: Fn, mod: ModuleBuilder): void {
  const [ctx, tid] = [f.param(0), f.param(1)];
  const [T, M, r0, r1, rb, re] = Array.from({ length: 6 }, () => f.local(I32));
  const word = (slot: number) => f.get(ctx).i32load(4 * slot);
  word(I.threads).set(T);
  f.get(tid)
    .get(T)
    .op(Op.i32GeS)
    .if_(() => f.op(Op.return));
  word(I.pM).set(M);
  // a = min(a, limit)
  const atMost = (a: Local, limit: Local) =>
    f.get(a).get(limit).get(a).get(limit).op(Op.i32LtS).op(Op.select).set(a);
  // r0 = min(M, tid·rowsEach), r1 = min(M, r0 + rowsEach)
  f.get(tid);
  word(I.pRowsEach);
  f.op(Op.i32Mul).set(r0);
  atMost(r0, M);
  f.get(r0);
  word(I.pRowsEach);
  f.op(Op.i32Add).set(r1);
  atMost(r1, M);
  f.get(r0).set(rb);
  f.whileLt(rb, r1, PRODUCT_ROW_BLOCK, () => {
    f.get(rb).i32(PRODUCT_ROW_BLOCK).op(Op.i32Add).set(re);
    atMost(re, r1);
    word(I.pX);
    word(I.pLdx);
    word(I.pY);
    word(I.pC);
    word(I.pLdc);
    f.get(rb).get(re).i32(0);
    word(I.pPanels);
    word(I.pK);
    f.i32(0).call(mod.index('gemmPlain'));
  });
  f.get(ctx).get(T).call(mod.index('barrier'));
}

/** Rows of X per GEMM call of a product job. */
const PRODUCT_ROW_BLOCK = 96;

export function buildStepModule(o: StepModuleOptions): Uint8Array {
  const mod = new ModuleBuilder({
    module: 'env',
    field: 'memory',
    minPages: 1,
    maxPages: o.shared ? 65536 : undefined,
    shared: o.shared,
  });
  mod.func('gemm', i32s(11), [], (f) => gemm(f, o));
  mod.func('packPanels', i32s(6), [], packPanels);
  mod.func('act', i32s(5), [], activation);
  mod.func('rowSums', i32s(13), [], rowSums);
  mod.func('updateN', [...i32s(20), F32, F32], [], updateN);
  mod.func('outputControl', [...i32s(10), F32, F32], [], outputControl);
  mod.func('updateK', [...i32s(14), F32, F32, F32], [], updateK);
  mod.func('barrier', i32s(2), [], (f) => barrier(f, o));
  mod.func('awaitStep', i32s(3), [], (f) => awaitStep(f, o));
  mod.func('run', i32s(2), [], (f) => run(f, mod));
  // Products for tfjs (engineMatMul.ts): separate multiply and add, as tfjs's own kernels sum.
  mod.func('gemmPlain', i32s(11), [], (f) => gemm(f, { ...o, fma: false }));
  mod.func('transpose', i32s(4), [], transpose);
  mod.func('product', i32s(2), [], (f) => product(f, mod));
  // A job: the product, or the steps.
  const job = (f: Fn, ctx: Local, tid: () => void) => {
    f.get(ctx)
      .i32load(4 * I.job)
      .i32(JOB.product)
      .op(Op.i32Eq)
      .if_(
        () => {
          f.get(ctx);
          tid();
          f.call(mod.index('product'));
        },
        () => {
          f.get(ctx);
          tid();
          f.call(mod.index('run'));
        },
      );
  };
  mod.func('dispatch', i32s(1), [], (f) => {
    const ctx = f.param(0);
    f.get(ctx)
      .i32load(4 * I.threads)
      .i32(1)
      .op(Op.i32GtS)
      .if_(() => {
        // Every thread has left the previous job (its last barrier): restart the step counters.
        for (let j = 0; j < MAX_THREADS; j++)
          f.get(ctx)
            .i32(0)
            .atomic(Atomic.i32Store, SYNC.posted + 64 * j);
        f.get(ctx).i32(1).atomic(Atomic.i32RmwAdd, SYNC.jobGen).op(Op.drop);
        wake(f, ctx, SYNC.jobGen);
      });
    job(f, ctx, () => f.i32(0));
  });
  // worker(ctx, tid, seen): `seen` is the job counter when the thread was started (read by the
  // caller: a job may be posted between the thread saying it is ready and reaching this loop).
  mod.func('worker', i32s(3), [], (f) => {
    const [ctx, tid, seen] = [f.param(0), f.param(1), f.param(2)];
    f.loop(() => {
      waitWhileEqual(f, ctx, SYNC.jobGen, seen, o);
      f.get(ctx).atomic(Atomic.i32Load, SYNC.jobGen).set(seen);
      f.get(ctx)
        .atomic(Atomic.i32Load, SYNC.quit)
        .if_(() => f.op(Op.return));
      job(f, ctx, () => f.get(tid));
      f.br(0);
    });
  });
  return mod.bytes();
}

/** Does this engine run WASM SIMD, relaxed SIMD's madd, and (with shared memory) threads? */
export function stepSupport(): { simd: boolean; relaxed: boolean } {
  const probe = (fma: boolean) => {
    try {
      return WebAssembly.validate(
        buildStepModule({ fma, shared: false }) as Uint8Array<ArrayBuffer>,
      );
    } catch {
      return false;
    }
  };
  const simd = probe(false);
  return { simd, relaxed: simd && probe(true) };
}
