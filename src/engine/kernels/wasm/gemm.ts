/**
 * The step module's packed GEMM (step.ts's products):
 *
 *   gemm(x, ldx, y, c, ldc, r0, r1, p0, p1, m, acc): C[r0:r1, panels p0:p1] (+)= X[r0:r1, 0:m]·Y
 *
 * Y packed in 16-column panels (panel p holds rows 0 … m−1 of columns 16p … 16p+15, 64 bytes a
 * row; panel stride m·64 bytes), cache-blocked over m (KC rows at a time, so a panel's block stays
 * in L1 while every row tile of X passes over it) and register-tiled (MR rows × 16 columns of
 * accumulators; one row × 32 columns for the rows left over). ldx and ldc in bytes; acc ≠ 0 adds
 * to C. Every element of C is the same chain of multiply-adds over k in
 * order, from 0, whatever tile or thread computes it.
 */
import { F32, Fn, I32, Op, Simd, V128, type Local } from './emit';
import { KC } from './layout';

/** Rows of the main register tile unless GemmOptions.tileRows says otherwise. */
export const DEFAULT_TILE_ROWS = 2;

export interface GemmOptions {
  /** f32x4.relaxed_madd in the products (an FMA where the engine has one). */
  fma: boolean;
  /** Rows of the main register tile (2 … 4). */
  tileRows?: number;
  /** Unrolling of the inner loop over m (default 1, see gemm). */
  unroll?: number;
}

/** acc = acc + a·b (v128 locals). */
function madd(f: Fn, fma: boolean, acc: Local, a: Local, b: Local): void {
  if (fma) f.get(a).get(b).get(acc).simd(Simd.f32x4RelaxedMadd).set(acc);
  else f.get(acc).get(a).get(b).simd(Simd.f32x4Mul).simd(Simd.f32x4Add).set(acc);
}

/** The body of gemm(x, ldx, y, c, ldc, r0, r1, p0, p1, m, acc) (all i32 parameters). */
export function gemm(f: Fn, o: GemmOptions): void {
  const [x, ldx, y, c, ldc, r0, r1, p0, p1, m, accIn] = Array.from({ length: 11 }, (_, i) =>
    f.param(i),
  );
  const MR = o.tileRows ?? DEFAULT_TILE_ROWS;
  // Not unrolled by default: Node 20's V8 (11.3) hoists an unrolled body's loads ahead of its
  // multiply-adds and spills the accumulators (27 against 49 GFLOP/s at 32 × 256 × 256 here);
  // Chromium's V8 runs every unrolling at the same speed.
  const U = o.unroll ?? 1;
  const kb = f.local(I32);
  const klen = f.local(I32);
  const acc = f.local(I32);
  const p = f.local(I32);
  const r = f.local(I32);
  const rMain = f.local(I32);
  const kk = f.local(I32);
  const yp = f.local(I32);
  const yp2 = f.local(I32);
  const cp = f.local(I32);
  const xs = f.local(V128);
  const panelBytes = f.local(I32);
  f.get(m).i32(6).op(Op.i32Shl).set(panelBytes);
  // rMain = r0 + (r1 − r0) − (r1 − r0) % MR
  f.get(r1).get(r1).get(r0).op(Op.i32Sub).i32(MR).op(Op.i32RemS).op(Op.i32Sub).set(rMain);

  /**
   * One register tile: `rows` rows × `panels` panels (4 vectors each) over klen rows of Y.
   * X row i at xp[i]; Y at yp (and yp2 for the second panel); C at cp (row stride ldc).
   */
  const tile = (rows: number, panels: number) => {
    const NV = 4 * panels;
    const xp = Array.from({ length: rows }, () => f.local(I32));
    const accs = Array.from({ length: rows * NV }, () => f.local(V128));
    const yv = Array.from({ length: NV }, () => f.local(V128));
    const cAddr = (i: number, v: number) => {
      f.get(cp);
      if (i > 0) f.get(ldc).i32(i).op(Op.i32Mul).op(Op.i32Add);
      return 16 * (v % 4) + 64 * Math.floor(v / 4);
    };
    f.get(acc).if_(
      () => {
        for (let i = 0; i < rows; i++)
          for (let v = 0; v < NV; v++) {
            const off = cAddr(i, v);
            f.vload(off).set(accs[i * NV + v]);
          }
      },
      () => {
        for (const a of accs) f.f32x4(0).set(a);
      },
    );
    for (let i = 0; i < rows; i++) {
      // X row r + i, column kb.
      f.get(x)
        .get(r)
        .i32(i)
        .op(Op.i32Add)
        .get(ldx)
        .op(Op.i32Mul)
        .op(Op.i32Add)
        .get(kb)
        .i32(2)
        .op(Op.i32Shl)
        .op(Op.i32Add)
        .set(xp[i]);
    }
    const body = (u: number) => {
      for (let v = 0; v < NV; v++) {
        f.get(v < 4 ? yp : yp2)
          .vload(64 * u + 16 * (v % 4))
          .set(yv[v]);
      }
      for (let i = 0; i < rows; i++) {
        f.get(xp[i])
          .vsplatLoad(4 * u)
          .set(xs);
        for (let v = 0; v < NV; v++) madd(f, o.fma, accs[i * NV + v], xs, yv[v]);
      }
    };
    const advance = (u: number) => {
      f.get(yp)
        .i32(64 * u)
        .op(Op.i32Add)
        .set(yp);
      if (panels > 1)
        f.get(yp2)
          .i32(64 * u)
          .op(Op.i32Add)
          .set(yp2);
      for (let i = 0; i < rows; i++)
        f.get(xp[i])
          .i32(4 * u)
          .op(Op.i32Add)
          .set(xp[i]);
      f.get(kk).i32(u).op(Op.i32Sub).set(kk);
    };
    f.get(klen).set(kk);
    // Unrolled by U while at least U rows of Y remain, then one at a time.
    f.block(() =>
      f.loop(() => {
        f.get(kk).i32(U).op(Op.i32LtS).brIf(1);
        for (let u = 0; u < U; u++) body(u);
        advance(U);
        f.br(0);
      }),
    );
    f.block(() =>
      f.loop(() => {
        f.get(kk).i32(1).op(Op.i32LtS).brIf(1);
        body(0);
        advance(1);
        f.br(0);
      }),
    );
    for (let i = 0; i < rows; i++)
      for (let v = 0; v < NV; v++) {
        const off = cAddr(i, v);
        f.get(accs[i * NV + v]).vstore(off);
      }
  };

  // Y row kb of panel p: y + p·panelBytes + kb·64
  const setY = (panel: Local) => {
    f.get(y)
      .get(panel)
      .get(panelBytes)
      .op(Op.i32Mul)
      .op(Op.i32Add)
      .get(kb)
      .i32(6)
      .op(Op.i32Shl)
      .op(Op.i32Add)
      .set(yp);
    f.get(yp).get(panelBytes).op(Op.i32Add).set(yp2);
  };
  // C row r, panel p: c + r·ldc + p·64
  const setC = () =>
    f
      .get(c)
      .get(r)
      .get(ldc)
      .op(Op.i32Mul)
      .op(Op.i32Add)
      .get(p)
      .i32(6)
      .op(Op.i32Shl)
      .op(Op.i32Add)
      .set(cp);

  f.i32(0).set(kb);
  f.whileLt(kb, m, KC, () => {
    // klen = min(KC, m − kb); accumulate from the second block on.
    f.get(m).get(kb).op(Op.i32Sub).set(klen);
    f.get(klen).i32(KC).get(klen).i32(KC).op(Op.i32LtS).op(Op.select).set(klen);
    f.get(accIn).get(kb).op(Op.i32Or).set(acc);
    // Main tiles: panels outer, so that a panel's block stays in L1 across the row tiles.
    f.get(p0).set(p);
    f.whileLt(p, p1, 1, () => {
      f.get(r0).set(r);
      f.whileLt(r, rMain, MR, () => {
        setY(p);
        setC();
        tile(MR, 1);
      });
    });
    // Rows left over: one row, two panels at a time (8 accumulator chains), then one.
    f.get(rMain).set(r);
    f.whileLt(r, r1, 1, () => {
      f.get(p0).set(p);
      f.block(() =>
        f.loop(() => {
          f.get(p).i32(2).op(Op.i32Add).get(p1).op(Op.i32GtS).brIf(1);
          setY(p);
          setC();
          tile(1, 2);
          f.get(p).i32(2).op(Op.i32Add).set(p).br(0);
        }),
      );
      f.get(p)
        .get(p1)
        .op(Op.i32LtS)
        .if_(() => {
          setY(p);
          setC();
          tile(1, 1);
        });
    });
  });
}

/**
 * packPanels(src, ld, dst, m, N, transpose): the GEMM's Y[m, N] in 16-column panels from a
 * row-major source S (row stride ld floats): Y[r][j] = transpose ? S[j][r] : S[r][j]; panel p,
 * row r at dst + (p·m + r)·64; columns j ≥ N zero. Whole panels by vectors (a transposed one in
 * 4 × 4 blocks turned with shuffles), the last partial panel and rows left over by floats.
 */
export function packPanels(f: Fn): void {
  const [src, ld, dst, m, N, transpose] = [0, 1, 2, 3, 4, 5].map((i) => f.param(i));
  const p = f.local(I32);
  const r = f.local(I32);
  const r4 = f.local(I32);
  const l = f.local(I32);
  const j = f.local(I32);
  const out = f.local(I32);
  const from = f.local(I32);
  const ldb = f.local(I32);
  const value = f.local(F32);
  const rows = [0, 1, 2, 3].map(() => f.local(V128));
  const t = [0, 1, 2, 3].map(() => f.local(V128));
  f.get(ld).i32(2).op(Op.i32Shl).set(ldb);
  f.get(m).i32(-4).op(Op.i32And).set(r4);
  f.get(dst).set(out);
  /** Row r of panel p, one float at a time (zero past N); `out` moves on by 64. */
  const scalarRow = () => {
    f.i32(0).set(l);
    f.whileLt(l, 16, 1, () => {
      f.get(p).get(l).op(Op.i32Add).set(j);
      f.f32(0).set(value);
      f.get(j)
        .get(N)
        .op(Op.i32LtS)
        .if_(() => {
          f.get(transpose).if_(
            () => f.get(j).get(ld).op(Op.i32Mul).get(r).op(Op.i32Add).set(from),
            () => f.get(r).get(ld).op(Op.i32Mul).get(j).op(Op.i32Add).set(from),
          );
          f.get(src).get(from).i32(2).op(Op.i32Shl).op(Op.i32Add).f32load().set(value);
        });
      f.get(out).get(l).i32(2).op(Op.i32Shl).op(Op.i32Add).get(value).f32store();
    });
    f.get(out).i32(64).op(Op.i32Add).set(out);
  };
  f.i32(0).set(p);
  f.whileLt(p, N, 16, () => {
    f.i32(0).set(r);
    f.get(p)
      .i32(16)
      .op(Op.i32Add)
      .get(N)
      .op(Op.i32LeS)
      .if_(() =>
        f.get(transpose).if_(
          () => {
            // Rows r … r+3 from columns r … r+3 of S's rows p … p+15, four rows of S at a time.
            f.whileLt(r, r4, 4, () => {
              for (let q = 0; q < 4; q++) {
                f.get(src)
                  .get(p)
                  .i32(4 * q)
                  .op(Op.i32Add)
                  .get(ld)
                  .op(Op.i32Mul)
                  .get(r)
                  .op(Op.i32Add)
                  .i32(2)
                  .op(Op.i32Shl)
                  .op(Op.i32Add)
                  .set(from);
                for (let s = 0; s < 4; s++) {
                  f.get(from);
                  if (s > 0) f.get(ldb).i32(s).op(Op.i32Mul).op(Op.i32Add);
                  f.vload().set(rows[s]);
                }
                f.get(rows[0]).get(rows[1]).shuffle32([0, 4, 1, 5]).set(t[0]);
                f.get(rows[0]).get(rows[1]).shuffle32([2, 6, 3, 7]).set(t[1]);
                f.get(rows[2]).get(rows[3]).shuffle32([0, 4, 1, 5]).set(t[2]);
                f.get(rows[2]).get(rows[3]).shuffle32([2, 6, 3, 7]).set(t[3]);
                const turned: [Local, Local, [number, number, number, number]][] = [
                  [t[0], t[2], [0, 1, 4, 5]],
                  [t[0], t[2], [2, 3, 6, 7]],
                  [t[1], t[3], [0, 1, 4, 5]],
                  [t[1], t[3], [2, 3, 6, 7]],
                ];
                turned.forEach(([a, b, lanes], s) =>
                  f
                    .get(out)
                    .get(a)
                    .get(b)
                    .shuffle32(lanes)
                    .vstore(64 * s + 16 * q),
                );
              }
              f.get(out).i32(256).op(Op.i32Add).set(out);
            });
          },
          () => {
            // Row r: the 64 bytes of S's row r from column p.
            f.whileLt(r, m, 1, () => {
              f.get(src)
                .get(r)
                .get(ld)
                .op(Op.i32Mul)
                .get(p)
                .op(Op.i32Add)
                .i32(2)
                .op(Op.i32Shl)
                .op(Op.i32Add)
                .set(from);
              for (let q = 0; q < 4; q++)
                f.get(out)
                  .get(from)
                  .vload(16 * q)
                  .vstore(16 * q);
              f.get(out).i32(64).op(Op.i32Add).set(out);
            });
          },
        ),
      );
    // What the vectors left: rows past the last block of four, or a partial panel.
    f.whileLt(r, m, 1, scalarRow);
  });
}
