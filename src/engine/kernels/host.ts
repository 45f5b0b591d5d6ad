/**
 * The fused Euler step on a host heap (a Float32Array): the CPU kernel runs it with plain
 * typed-array loops over its own arena, the WASM kernel with SIMD primitives in place on the tfjs
 * WASM heap. One object per (backend, shape) keeps its arena and copies of the weights between
 * calls, so a relaxation copies W, D, … once and then only dispatches.
 *
 * Layout in the arena (all row-major, columns padded to np = pad16(n), kq = pad16(k) with zeros):
 *   two state sets (φ, ψ [B, np]; y, u_I [B, kq]) used in turn, work buffers r, s, A, P, q [B, np],
 *   yd, g, u [B, kq], and the prepared weights
 *   Wt [n, np] (Wᵀ), Wp [n, np] (W), Dt [n, kq] (Dᵀ), Dp [k, np] (D), d [kq],
 *   KP: Bt [n, np] (Bᵀ), Ft [k, np] (Fᵀ); LF: Qt [k, np] (Qᵀ); drive [B, np].
 * so that every product is C = X·Y with Y's rows contiguous:
 *   A = ρ(φ)·Wt = ρ(φ)Wᵀ,   yd = ρ(φ)·Dt,   P = ψ·Wp + u·Dp = (Wᵀψ + Dᵀu)ᵀ,   q = u·Qt = (Qu)ᵀ.
 * Readout `units` skips yd and the u·Dp (u·Fp) term: u is added to the last k units' ψ drive
 * after the slope, and y′ is copied from the new φ's last k entries.
 */
import type { Activation } from '../activations';
import { pad16, residualOf, STAT, STATUS, StopRule, type FusedStepAttrs } from './spec';

/** Numeric primitives over the heap; offsets and strides in floats. */
export interface Prims {
  /**
   * C[rows, ncols] (+)= X[rows, m]·Y[m, ncols]. Y is given both ways: row-major (y, ldy; its
   * padded columns are zero) and transposed (yT, ldyT: row j = column j of Y), for
   * implementations that prefer dot products; only the first `nReal` columns of C need writing.
   */
  gemm(
    x: number,
    ldx: number,
    y: number,
    ldy: number,
    yT: number,
    ldyT: number,
    c: number,
    ldc: number,
    rows: number,
    m: number,
    ncols: number,
    nReal: number,
    accumulate: boolean,
  ): void;
  /** r = ρ(src), s = ρ′(src) over `count` floats (count a multiple of 16). */
  act(kind: Activation, src: number, r: number, s: number, count: number): void;
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
  /** [Σ(next − prev)², Σ next²] over `count` floats. */
  sumsq(prev: number, next: number, count: number, out: Float64Array, at: number): void;
}

/** Memory for the arena: a heap view (re-read after every allocation) and allocation. */
export interface Arena {
  heap(): Float32Array;
  /** Allocate `floats` floats aligned to 16 bytes; returns a float offset. */
  alloc(floats: number): number;
  free(offset: number): void;
}

/** Where an input tensor's values are: a heap and a float offset into it. */
export interface HostView {
  heap: Float32Array;
  offset: number;
}

const EPS = 1.1920928955078125e-7;
const SOFTPLUS_THRESHOLD = Math.log(EPS) + 2.0;

/** tfjs CPU's softplus (tooSmall → eˣ, tooLarge → x, else log(1 + eˣ)). */
export function softplus(x: number): number {
  if (x < SOFTPLUS_THRESHOLD) return Math.exp(x);
  if (x > -SOFTPLUS_THRESHOLD) return x;
  return Math.log(1 + Math.exp(x));
}

/** The primitives as plain loops (CPU backend, and the WASM backend without SIMD). */
export function jsPrims(arena: Arena): Prims {
  return {
    gemm(x, ldx, _y, _ldy, yT, ldyT, c, ldc, rows, m, _ncols, nReal, accumulate) {
      // Dot products of X's rows with Yᵀ's rows, four rows of X at a time.
      const H = arena.heap();
      let r = 0;
      for (; r + 4 <= rows; r += 4) {
        const x0 = x + r * ldx;
        const x1 = x0 + ldx;
        const x2 = x1 + ldx;
        const x3 = x2 + ldx;
        const c0 = c + r * ldc;
        for (let j = 0; j < nReal; j++) {
          const yo = yT + j * ldyT;
          let s0 = 0;
          let s1 = 0;
          let s2 = 0;
          let s3 = 0;
          for (let mm = 0; mm < m; mm++) {
            const yv = H[yo + mm];
            s0 += H[x0 + mm] * yv;
            s1 += H[x1 + mm] * yv;
            s2 += H[x2 + mm] * yv;
            s3 += H[x3 + mm] * yv;
          }
          if (accumulate) {
            H[c0 + j] += s0;
            H[c0 + ldc + j] += s1;
            H[c0 + 2 * ldc + j] += s2;
            H[c0 + 3 * ldc + j] += s3;
          } else {
            H[c0 + j] = s0;
            H[c0 + ldc + j] = s1;
            H[c0 + 2 * ldc + j] = s2;
            H[c0 + 3 * ldc + j] = s3;
          }
        }
      }
      for (; r < rows; r++) {
        const x0 = x + r * ldx;
        const c0 = c + r * ldc;
        for (let j = 0; j < nReal; j++) {
          const yo = yT + j * ldyT;
          let s0 = 0;
          let s1 = 0;
          let mm = 0;
          for (; mm + 2 <= m; mm += 2) {
            s0 += H[x0 + mm] * H[yo + mm];
            s1 += H[x0 + mm + 1] * H[yo + mm + 1];
          }
          if (mm < m) s0 += H[x0 + mm] * H[yo + mm];
          if (accumulate) H[c0 + j] += s0 + s1;
          else H[c0 + j] = s0 + s1;
        }
      }
    },
    act(kind, src, r, s, count) {
      const H = arena.heap();
      for (let i = 0; i < count; i++) {
        const v = H[src + i];
        switch (kind) {
          case 'tanh': {
            const t = Math.fround(Math.tanh(v));
            H[r + i] = t;
            H[s + i] = 1 - t * t;
            break;
          }
          case 'sigmoid': {
            const t = Math.fround(1 / (1 + Math.exp(-v)));
            H[r + i] = t;
            H[s + i] = t * (1 - t);
            break;
          }
          case 'linear':
            H[r + i] = v;
            H[s + i] = 1;
            break;
          case 'softplus':
            H[r + i] = softplus(v);
            H[s + i] = 1 / (1 + Math.exp(-v));
            break;
        }
      }
    },
    eulerPhi(x, a, d, p, out, count, coef) {
      const H = arena.heap();
      for (let i = 0; i < count; i++) {
        const xv = H[x + i];
        H[out + i] = xv + coef * (H[a + i] + H[d + i] + H[p + i] - xv);
      }
    },
    eulerPsi(x, s, p, out, count, coef) {
      const H = arena.heap();
      for (let i = 0; i < count; i++) {
        const xv = H[x + i];
        H[out + i] = xv + coef * (H[s + i] * H[p + i] - xv);
      }
    },
    sumsq(prev, next, count, out, at) {
      const H = arena.heap();
      let d2 = 0;
      let n2 = 0;
      for (let i = 0; i < count; i++) {
        const v = H[next + i];
        const dv = v - H[prev + i];
        d2 += dv * dv;
        n2 += v * v;
      }
      out[at] = d2;
      out[at + 1] = n2;
    },
  };
}

interface StateSet {
  phi: number;
  psi: number;
  y: number;
  uI: number;
}

/** Inputs of one call, as heap views (WASM: the tfjs heap; CPU: the tensors' own arrays). */
export interface HostInputs {
  state: HostView;
  drive: HostView;
  target: HostView;
  W: HostView;
  D: HostView;
  d: HostView;
  fbA?: HostView;
  fbB?: HostView;
  /** Identity of each input's data (tfjs dataIds): unchanged identity ⇒ unchanged values. */
  ids: Record<'drive' | 'W' | 'D' | 'd' | 'fbA' | 'fbB', object | undefined>;
}

/** One arena per shape; reused while B, n, k and the controller kind stay the same. */
export class HostStepper {
  readonly np: number;
  readonly kq: number;
  private readonly base: number;
  private readonly sets: [StateSet, StateSet];
  private readonly buf: Record<
    'r' | 's' | 'A' | 'P' | 'q' | 'zero' | 'ones' | 'yd' | 'g' | 'u' | 'drive',
    number
  >;
  private readonly w: Record<
    'Wt' | 'Wp' | 'Dt' | 'Dp' | 'd' | 'Bt' | 'Ft' | 'Qt' | 'Bp' | 'Fp' | 'Qp',
    number
  >;
  private readonly cached: Partial<Record<string, object>> = {};
  private readonly sums = new Float64Array(8);
  /** Sizes per sample of φ, y, u_I, ψ (the rule's RMS uses the full block sizes). */
  private readonly sizes: number[];

  constructor(
    private readonly arena: Arena,
    private readonly prims: Prims,
    readonly batch: number,
    readonly n: number,
    readonly k: number,
  ) {
    const np = (this.np = pad16(n));
    const kq = (this.kq = pad16(k));
    const B = batch;
    const layout: [string, number][] = [
      ['s0.phi', B * np],
      ['s0.psi', B * np],
      ['s0.y', B * kq],
      ['s0.uI', B * kq],
      ['s1.phi', B * np],
      ['s1.psi', B * np],
      ['s1.y', B * kq],
      ['s1.uI', B * kq],
      ['r', B * np],
      ['s', B * np],
      ['A', B * np],
      ['P', B * np],
      ['q', B * np],
      ['zero', B * np],
      ['ones', B * np],
      ['drive', B * np],
      ['yd', B * kq],
      ['g', B * kq],
      ['u', B * kq],
      ['Wt', n * np],
      ['Wp', n * np],
      ['Dt', n * kq],
      ['Dp', k * np],
      ['d', kq],
      ['Bt', n * np],
      ['Ft', k * np],
      ['Qt', k * np],
      ['Bp', n * np],
      ['Fp', n * kq],
      ['Qp', n * kq],
    ];
    const total = layout.reduce((s, [, size]) => s + size, 0);
    this.base = arena.alloc(total);
    const at: Record<string, number> = {};
    let o = this.base;
    for (const [name, size] of layout) {
      at[name] = o;
      o += size;
    }
    arena.heap().fill(0, this.base, this.base + total);
    arena.heap().fill(1, at.ones, at.ones + B * np);
    this.sets = [0, 1].map((i) => ({
      phi: at[`s${i}.phi`],
      psi: at[`s${i}.psi`],
      y: at[`s${i}.y`],
      uI: at[`s${i}.uI`],
    })) as [StateSet, StateSet];
    this.buf = {
      r: at.r,
      s: at.s,
      A: at.A,
      P: at.P,
      q: at.q,
      zero: at.zero,
      ones: at.ones,
      drive: at.drive,
      yd: at.yd,
      g: at.g,
      u: at.u,
    };
    this.w = {
      Wt: at.Wt,
      Wp: at.Wp,
      Dt: at.Dt,
      Dp: at.Dp,
      d: at.d,
      Bt: at.Bt,
      Ft: at.Ft,
      Qt: at.Qt,
      Bp: at.Bp,
      Fp: at.Fp,
      Qp: at.Qp,
    };
    this.sizes = [B * n, B * k, B * k, B * n];
  }

  dispose(): void {
    this.arena.free(this.base);
  }

  /** Copy a [rows, cols] input into the arena, transposed or not, padded to `ld` columns. */
  private put(
    src: HostView,
    rows: number,
    cols: number,
    dst: number,
    ld: number,
    transpose: boolean,
  ): void {
    const H = this.arena.heap();
    const S = src.heap;
    const so = src.offset;
    if (transpose) {
      // dst[j, i] = src[i, j]
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < cols; j++) H[dst + j * ld + i] = S[so + i * cols + j];
    } else {
      for (let i = 0; i < rows; i++) {
        const row = S.subarray(so + i * cols, so + (i + 1) * cols);
        H.set(row, dst + i * ld);
      }
    }
  }

  /** Refresh the prepared copies of the inputs whose identity changed. */
  private prepare(inp: HostInputs, kind: FusedStepAttrs['kind']): void {
    const { n, k, np, kq, batch } = this;
    const fresh = (key: keyof HostInputs['ids']) => {
      const id = inp.ids[key];
      if (id !== undefined && this.cached[key] === id) return false;
      this.cached[key] = id;
      return true;
    };
    if (fresh('W')) {
      this.put(inp.W, n, n, this.w.Wt, np, true);
      this.put(inp.W, n, n, this.w.Wp, np, false);
    }
    if (fresh('D')) {
      this.put(inp.D, k, n, this.w.Dt, kq, true);
      this.put(inp.D, k, n, this.w.Dp, np, false);
    }
    if (fresh('d')) this.put(inp.d, 1, k, this.w.d, kq, false);
    if (fresh('drive')) this.put(inp.drive, batch, n, this.buf.drive, np, false);
    if (kind === 'dynamic-inversion-kp') {
      if (fresh('fbA')) {
        this.put(inp.fbA!, n, n, this.w.Bt, np, true);
        this.put(inp.fbA!, n, n, this.w.Bp, np, false);
      }
      if (fresh('fbB')) {
        this.put(inp.fbB!, n, k, this.w.Ft, np, true);
        this.put(inp.fbB!, n, k, this.w.Fp, kq, false);
      }
    } else if (kind === 'linear-feedback') {
      if (fresh('fbA')) {
        this.put(inp.fbA!, n, k, this.w.Qt, np, true);
        this.put(inp.fbA!, n, k, this.w.Qp, kq, false);
      }
    }
  }

  private load(state: HostView, set: StateSet): void {
    const { n, k, np, kq, batch } = this;
    const H = this.arena.heap();
    const S = state.heap;
    const width = 2 * n + 2 * k;
    for (let b = 0; b < batch; b++) {
      const so = state.offset + b * width;
      H.set(S.subarray(so, so + n), set.phi + b * np);
      H.set(S.subarray(so + n, so + 2 * n), set.psi + b * np);
      H.set(S.subarray(so + 2 * n, so + 2 * n + k), set.y + b * kq);
      H.set(S.subarray(so + 2 * n + k, so + width), set.uI + b * kq);
    }
  }

  private store(set: StateSet, out: Float32Array, outOffset: number): void {
    const { n, k, np, kq, batch } = this;
    const H = this.arena.heap();
    const width = 2 * n + 2 * k;
    for (let b = 0; b < batch; b++) {
      const o = outOffset + b * width;
      out.set(H.subarray(set.phi + b * np, set.phi + b * np + n), o);
      out.set(H.subarray(set.psi + b * np, set.psi + b * np + n), o + n);
      out.set(H.subarray(set.y + b * kq, set.y + b * kq + k), o + 2 * n);
      out.set(H.subarray(set.uI + b * kq, set.uI + b * kq + k), o + 2 * n + k);
    }
  }

  /** One Euler step from set `a` into set `b` (the math of dynamics.ts's eulerStep). */
  private step(a: StateSet, b: StateSet, at: FusedStepAttrs, target: HostView): void {
    const { n, k, np, kq, batch, prims: P, buf, w } = this;
    const count = batch * np;
    const controlled = at.kind !== 'free';
    // Readout `units`: no output population (no Dρ(φ) + d, no Dᵀu or Fu); y′ = φ′_y.
    const units = at.readout === 'units';
    // r = ρ(φ), s = ρ′(φ)
    let r = buf.r;
    let s = buf.s;
    if (at.activation === 'linear') {
      r = a.phi;
      s = buf.ones;
    } else P.act(at.activation, a.phi, r, s, count);
    P.gemm(r, np, w.Wt, np, w.Wp, np, buf.A, np, batch, n, np, n, false);
    if (!units) P.gemm(r, np, w.Dt, kq, w.Dp, np, buf.yd, kq, batch, n, kq, k, false);
    const H = this.arena.heap();
    const T = target.heap;
    if (!controlled) {
      P.eulerPhi(a.phi, buf.A, buf.drive, buf.zero, b.phi, count, at.cPhi);
      if (units) this.outputsFromUnits(b);
      else
        for (let row = 0; row < batch; row++) {
          const yo = row * kq;
          for (let c = 0; c < k; c++) {
            const yv = H[a.y + yo + c];
            H[b.y + yo + c] = yv + at.cY * (H[buf.yd + yo + c] + H[w.d + c] - yv);
          }
        }
      // ψ and u_I do not move (run() put them in both sets).
      return;
    }
    // g = ∂L/∂y, u = k_i u_I − k_p g
    const { ki, kp } = at;
    for (let row = 0; row < batch; row++) {
      const yo = row * kq;
      const to = target.offset + row * k;
      if (at.loss === 'mse') {
        for (let c = 0; c < k; c++) H[buf.g + yo + c] = H[a.y + yo + c] - T[to + c];
      } else {
        let max = -Infinity;
        for (let c = 0; c < k; c++) max = Math.max(max, H[a.y + yo + c]);
        let sum = 0;
        for (let c = 0; c < k; c++) sum += Math.exp(H[a.y + yo + c] - max);
        for (let c = 0; c < k; c++)
          H[buf.g + yo + c] = Math.exp(H[a.y + yo + c] - max) / sum - T[to + c];
      }
      for (let c = 0; c < k; c++) {
        const integral = ki * H[a.uI + yo + c];
        H[buf.u + yo + c] = kp === 0 ? integral : integral - kp * H[buf.g + yo + c];
      }
    }
    let psiUsed = a.psi;
    if (at.kind === 'linear-feedback') {
      P.gemm(buf.u, kq, w.Qt, np, w.Qp, kq, buf.q, np, batch, k, np, n, false);
      psiUsed = buf.q;
      H.copyWithin(b.psi, buf.q, buf.q + count);
    } else {
      const kpKind = at.kind === 'dynamic-inversion-kp';
      if (kpKind) {
        P.gemm(a.psi, np, w.Bt, np, w.Bp, np, buf.P, np, batch, n, np, n, false);
        if (!units) P.gemm(buf.u, kq, w.Ft, np, w.Fp, kq, buf.P, np, batch, k, np, n, true);
      } else {
        P.gemm(a.psi, np, w.Wp, np, w.Wt, np, buf.P, np, batch, n, np, n, false);
        if (!units) P.gemm(buf.u, kq, w.Dp, np, w.Dt, kq, buf.P, np, batch, k, np, n, true);
      }
      P.eulerPsi(a.psi, s, buf.P, b.psi, count, at.cPsi);
      if (units) {
        // The output units' ψ: u joins the drive after the slope (Pᵀu, not ρ′ ⊙ Pᵀu).
        const Hp = this.arena.heap();
        const first = n - k;
        for (let row = 0; row < batch; row++) {
          const o = row * np + first;
          const uo = buf.u + row * kq;
          for (let c = 0; c < k; c++) {
            const xv = Hp[a.psi + o + c];
            Hp[b.psi + o + c] =
              xv + at.cPsi * (Hp[s + o + c] * Hp[buf.P + o + c] + Hp[uo + c] - xv);
          }
        }
      }
    }
    P.eulerPhi(a.phi, buf.A, buf.drive, psiUsed, b.phi, count, at.cPhi);
    if (units) this.outputsFromUnits(b);
    const Hn = this.arena.heap();
    for (let row = 0; row < batch; row++) {
      const yo = row * kq;
      for (let c = 0; c < k; c++) {
        const i = yo + c;
        if (!units) {
          const yv = Hn[a.y + i];
          Hn[b.y + i] = yv + at.cY * (Hn[buf.yd + i] + Hn[w.d + c] + Hn[buf.u + i] - yv);
        }
        const uv = Hn[a.uI + i];
        Hn[b.uI + i] = uv + at.cU * -(Hn[buf.g + i] + at.alpha * uv);
      }
    }
  }

  /** Readout `units`: y ≡ φ_y, the last k entries of each row of the new φ. */
  private outputsFromUnits(set: StateSet): void {
    const { n, k, np, kq, batch } = this;
    const H = this.arena.heap();
    for (let row = 0; row < batch; row++) {
      const from = set.phi + row * np + n - k;
      H.copyWithin(set.y + row * kq, from, from + k);
    }
  }

  private blockSums(a: StateSet, b: StateSet): Float64Array {
    const { batch, np, kq, prims: P, sums } = this;
    P.sumsq(a.phi, b.phi, batch * np, sums, 0);
    P.sumsq(a.y, b.y, batch * kq, sums, 2);
    P.sumsq(a.uI, b.uI, batch * kq, sums, 4);
    P.sumsq(a.psi, b.psi, batch * np, sums, 6);
    return sums;
  }

  /**
   * Run up to at.steps steps from `inp.state`, evaluating the stopping rule after each; write the
   * resulting state (the last good one on divergence) to out[outOffset …] and the stats to
   * stats[0 … 15].
   */
  run(
    inp: HostInputs,
    at: FusedStepAttrs,
    out: Float32Array,
    outOffset: number,
    stats: Float32Array,
  ): void {
    this.prepare(inp, at.kind);
    let cur = 0;
    this.load(inp.state, this.sets[0]);
    if (at.kind === 'free') {
      // ψ and u_I do not move: keep them in both sets.
      const H = this.arena.heap();
      const [s0, s1] = this.sets;
      H.copyWithin(s1.psi, s0.psi, s0.psi + this.batch * this.np);
      H.copyWithin(s1.uI, s0.uI, s0.uI + this.batch * this.kq);
    }
    const rule = new StopRule(at.tol, at.growing, at.lastResidual, at.best);
    let status: number = STATUS.running;
    let done = 0;
    let residual = NaN;
    let raw = NaN;
    let rms = NaN;
    const coef = [at.cPhi, at.cY, at.cU, at.cPsi];
    for (let t = 1; t <= at.steps; t++) {
      const a = this.sets[cur];
      const b = this.sets[1 - cur];
      this.step(a, b, at, inp.target);
      const sums = this.blockSums(a, b);
      ({ residual, raw, rms } = residualOf(sums, 0, this.sizes, at.dt, coef));
      const code = rule.check(residual, rms);
      if (code >= STATUS.nonFinite) {
        status = code;
        break; // the output is set `cur`, the state before this step
      }
      cur = 1 - cur;
      done = t;
      if (code === STATUS.converged) {
        status = code;
        break;
      }
    }
    this.store(this.sets[cur], out, outOffset);
    stats.fill(0);
    stats[STAT.steps] = done;
    stats[STAT.status] = status;
    stats[STAT.residual] = residual;
    stats[STAT.rms] = rms;
    stats[STAT.growing] = rule.growing;
    stats[STAT.lastResidual] = rule.lastResidual;
    stats[STAT.best] = rule.best;
    stats[STAT.raw] = raw;
    for (let i = 0; i < 8; i++) stats[STAT.sums + i] = this.sums[i];
  }
}
