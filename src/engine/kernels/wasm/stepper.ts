/**
 * The JavaScript side of the WASM step module (step.ts): one WebAssembly.Memory of its own (shared
 * when threads are possible), the module instantiated over it, buffers per shape, the weights
 * packed into 16-column panels (once per weight change), and optional helper threads.
 *
 * A dispatch copies the packed state, the targets and (when changed) the drive and weights in,
 * fills the job block, makes one call — the whole relaxation chunk runs inside WebAssembly — and
 * copies the resulting state and the stats out.
 */
import { pad16, STAT, STATUS, type FusedStepAttrs } from '../spec';
import { ACT, CTX_BYTES, D, F, F32_AT, F64_AT, I, JOB, KIND, MAX_THREADS, SYNC } from './layout';
import { buildStepModule, stepSupport } from './step';

/** Where an input's values are: a heap and a float offset into it. */
export interface Source {
  heap: Float32Array;
  offset: number;
}

export interface StepInputs {
  state: Source;
  drive: Source;
  target: Source;
  W: Source;
  D: Source;
  d: Source;
  fbA?: Source;
  fbB?: Source;
  /** Identity of each input's data (tfjs dataIds): unchanged identity ⇒ unchanged values. */
  ids: Record<'drive' | 'W' | 'D' | 'd' | 'fbA' | 'fbB', object | undefined>;
}

interface Exports {
  dispatch(ctx: number): void;
  worker(ctx: number, tid: number, seen: number): void;
  gemm(...args: number[]): void;
  packPanels(src: number, ld: number, dst: number, m: number, N: number, transpose: number): void;
  transpose(src: number, rows: number, cols: number, dst: number): void;
}

export interface EngineOptions {
  fma: boolean;
  /** Threads in all ('auto': the cores this machine reports). Only where shared memory exists. */
  threads: number | 'auto';
  tileRows?: number;
  unroll?: number;
  /** Multiply-adds per step from which a dispatch uses the helper threads (default below). */
  threadFrom?: number;
  /**
   * With 'auto': cores left to others (the app keeps one for the page, whose frames on a small
   * machine are composited in software and starve when every core computes).
   */
  keepCores?: number;
  /** Spin iterations before a waiting thread sleeps (tests: 1 takes the sleeping path). */
  spin?: number;
}

const PAGE = 65536;
const ALIGN = 64;

/** First-fit allocation in the engine's memory (64-byte aligned), growing it when needed. */
class Allocator {
  private readonly blocks: { at: number; size: number; used: boolean }[] = [];

  constructor(
    private readonly memory: WebAssembly.Memory,
    start: number,
  ) {
    this.blocks.push({ at: start, size: memory.buffer.byteLength - start, used: false });
  }

  alloc(bytes: number): number {
    const size = Math.ceil(bytes / ALIGN) * ALIGN;
    let i = this.blocks.findIndex((b) => !b.used && b.size >= size);
    if (i < 0) {
      const last = this.blocks[this.blocks.length - 1];
      const need = size - (last.used ? 0 : last.size);
      const pages = Math.ceil(need / PAGE);
      this.memory.grow(pages);
      if (last.used) this.blocks.push({ at: last.at + last.size, size: pages * PAGE, used: false });
      else last.size += pages * PAGE;
      i = this.blocks.length - 1;
    }
    const b = this.blocks[i];
    if (b.size > size)
      this.blocks.splice(i + 1, 0, { at: b.at + size, size: b.size - size, used: false });
    b.size = size;
    b.used = true;
    new Uint8Array(this.memory.buffer, b.at, size).fill(0);
    return b.at;
  }

  free(at: number): void {
    const i = this.blocks.findIndex((b) => b.at === at && b.used);
    if (i < 0) return;
    this.blocks[i].used = false;
    // Merge with free neighbours.
    for (const j of [i + 1, i]) {
      const a = this.blocks[j - 1];
      const b = this.blocks[j];
      if (a && b && !a.used && !b.used) {
        a.size += b.size;
        this.blocks.splice(j, 1);
      }
    }
  }
}

/** Why there are no helper threads here (null when threads are possible). */
export function threadProblem(): string | null {
  if (typeof SharedArrayBuffer === 'undefined')
    return 'no SharedArrayBuffer (the page is not cross-origin isolated)';
  const g = globalThis as { crossOriginIsolated?: boolean; process?: unknown };
  if (g.crossOriginIsolated === false && !g.process) return 'the page is not cross-origin isolated';
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  } catch {
    return 'shared WebAssembly memory is not available';
  }
  return null;
}

/** Cores this machine reports (navigator.hardwareConcurrency, or Node's os module). */
export async function coreCount(): Promise<number> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  let cores = nav?.hardwareConcurrency;
  const g = globalThis as { process?: { versions?: { node?: string } } };
  if (!cores && g.process?.versions?.node) {
    const specifier = 'node:os';
    const os = (await import(/* @vite-ignore */ specifier)) as typeof import('node:os');
    cores = os.availableParallelism();
  }
  return Math.max(1, Math.min(MAX_THREADS, cores ?? 1));
}

/** A helper thread running step.ts's `worker` export. */
interface Helper {
  terminate(): void;
}

const HELPER_SOURCE = `
const start = (data, ready) => {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(data.bytes), { env: { memory: data.memory } });
  ready();
  instance.exports.worker(data.ctx, data.tid, data.seen);
};`;

async function spawnHelper(
  bytes: Uint8Array,
  memory: WebAssembly.Memory,
  ctx: number,
  tid: number,
): Promise<Helper> {
  const seen = Atomics.load(new Int32Array(memory.buffer), (ctx + SYNC.jobGen) >> 2);
  const data = { bytes, memory, ctx, tid, seen };
  const g = globalThis as { process?: { versions?: { node?: string } }; Worker?: unknown };
  if (g.process?.versions?.node) {
    // Node: a worker thread (unref'd: an idle helper sleeping in wait32 must not keep the
    // process alive).
    const specifier = 'node:worker_threads';
    const wt = (await import(/* @vite-ignore */ specifier)) as typeof import('node:worker_threads');
    const w = new wt.Worker(
      `${HELPER_SOURCE}
const { parentPort, workerData } = require('node:worker_threads');
start(workerData, () => parentPort.postMessage('ready'));`,
      { eval: true, workerData: data },
    );
    w.unref();
    await new Promise<void>((ok, fail) => {
      w.once('message', () => ok());
      w.once('error', fail);
    });
    return { terminate: () => void w.terminate() };
  }
  const blob = new Blob(
    [`${HELPER_SOURCE}\nonmessage = (e) => start(e.data, () => postMessage('ready'));`],
    { type: 'text/javascript' },
  );
  const url = URL.createObjectURL(blob);
  const w = new Worker(url);
  URL.revokeObjectURL(url);
  await new Promise<void>((ok, fail) => {
    w.onmessage = () => ok();
    w.onerror = (e) => fail(new Error(e.message || 'helper thread failed'));
    w.postMessage(data);
  });
  return { terminate: () => w.terminate() };
}

/** The module over its memory, the job block, and the helper threads. */
export class StepEngine {
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  readonly exports: Exports;
  readonly ctx: number;
  readonly flavour: string;
  private readonly bytes: Uint8Array;
  private readonly allocator: Allocator;
  private helpers: Helper[] = [];
  private starting: Promise<void> | null = null;
  /** Why the engine runs on one thread, or null. */
  threadNote: string | null = null;

  constructor(readonly options: EngineOptions) {
    const wantsThreads = options.threads === 'auto' || options.threads > 1;
    const problem = wantsThreads ? threadProblem() : null;
    this.shared = wantsThreads && problem === null;
    if (problem) this.threadNote = problem;
    this.memory = new WebAssembly.Memory(
      this.shared ? { initial: 16, maximum: 65536, shared: true } : { initial: 16 },
    );
    this.bytes = buildStepModule({
      fma: options.fma,
      shared: this.shared,
      tileRows: options.tileRows,
      unroll: options.unroll,
      spin: options.spin,
    });
    const module = new WebAssembly.Module(this.bytes as Uint8Array<ArrayBuffer>);
    this.exports = new WebAssembly.Instance(module, { env: { memory: this.memory } })
      .exports as unknown as Exports;
    this.allocator = new Allocator(this.memory, 0);
    this.ctx = this.allocator.alloc(CTX_BYTES);
    this.reserve(options.keepCores ?? 0);
    this.flavour = options.fma ? 'simd+fma' : 'simd';
  }

  alloc(bytes: number): number {
    return this.allocator.alloc(bytes);
  }

  free(at: number): void {
    this.allocator.free(at);
  }

  get f32(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }

  /** Helper threads ready to take a share (0 until started). */
  get helperCount(): number {
    return this.helpers.length;
  }

  /** The cores this machine reports (known once the helpers have started). */
  private cores = 1;
  /** With threads 'auto': cores left to others now (keepCores, or what reserve set). */
  private reserved = 0;

  /**
   * Helpers a dispatch may use now: with threads 'auto', every core but the reserved ones. The
   * helpers exist for every core, so that a job that may take them all (Train 1 epoch) can.
   */
  get usableHelpers(): number {
    if (this.options.threads !== 'auto') return this.helpers.length;
    return Math.max(0, Math.min(this.helpers.length, this.cores - this.reserved - 1));
  }

  /** Leave `cores` cores to others from the next dispatch on (threads 'auto' only). */
  reserve(cores: number): void {
    this.reserved = Math.max(0, Math.floor(cores));
  }

  /** Why dispatches now run on one thread where helpers could take a share, or null. */
  get reservedNote(): string | null {
    if (this.options.threads !== 'auto' || this.usableHelpers > 0 || this.cores < 2) return null;
    return `${this.reserved === 1 ? 'one' : this.reserved} of ${this.cores} cores kept for the page`;
  }

  /** Start the helper threads (once; later calls wait for the first). */
  startHelpers(): Promise<void> {
    if (!this.shared) return Promise.resolve();
    this.starting ??= (async () => {
      try {
        const wanted = this.options.threads;
        const cores = (this.cores = await coreCount());
        // 'auto': a helper for every other core; `reserved` decides how many a dispatch uses.
        const helpers = (wanted === 'auto' ? cores : Math.min(wanted, MAX_THREADS)) - 1;
        if (helpers < 1 && wanted === 'auto') this.threadNote = 'this machine reports one core';
        const started = await Promise.all(
          Array.from({ length: Math.max(0, helpers) }, (_, i) =>
            spawnHelper(this.bytes, this.memory, this.ctx, i + 1),
          ),
        );
        this.helpers = started;
        if (this.disposed) this.dispose();
      } catch (e) {
        this.threadNote = `helper threads failed to start (${e instanceof Error ? e.message : String(e)})`;
      }
    })();
    return this.starting;
  }

  private disposed = false;

  /** Stop the helper threads (they leave their loop and exit). */
  dispose(): void {
    this.disposed = true;
    if (this.helpers.length) {
      const words = new Int32Array(this.memory.buffer);
      Atomics.store(words, (this.ctx + SYNC.quit) >> 2, 1);
      Atomics.add(words, (this.ctx + SYNC.jobGen) >> 2, 1);
      Atomics.notify(words, (this.ctx + SYNC.jobGen) >> 2);
      for (const h of this.helpers) h.terminate();
      this.helpers = [];
    }
  }
}

/**
 * Multiply-adds per step below which the kernel stays on one thread: a step then takes less than
 * ~50 µs on one core, and the barrier each step needs (and other work on a shared machine) would
 * eat what a second core adds (docs/performance.md).
 */
export const MIN_THREADED_MACS = 1 << 20;

/** Buffers of one shape (B, n, k) in the engine's memory. */
export class WasmStepper {
  readonly np: number;
  readonly kq: number;
  private readonly regions: number[] = [];
  private readonly sets: number[][];
  private readonly at: Record<string, number> = {};
  private readonly cached: Partial<Record<string, object>> = {};

  constructor(
    private readonly engine: StepEngine,
    readonly batch: number,
    readonly n: number,
    readonly k: number,
  ) {
    const np = (this.np = pad16(n));
    const kq = (this.kq = pad16(k));
    const B = batch;
    const f = 4;
    const sizes: [string, number][] = [
      ['A', B * np * f],
      ['P', B * np * f],
      ['yd', B * kq * f],
      ['drive', B * np * f],
      ['target', B * kq * f],
      ['d', kq * f],
      ['Y0', n * np * f],
      ['Yd', n * kq * f],
      ['Y1', n * np * f],
      ['Y2', k * np * f],
      // A weight matrix copied from tfjs's memory, to be packed (W, D, B, F, Q: n·max(n, k)).
      ['stage', n * Math.max(n, k) * f],
      ['rowSums0', B * 64],
      ['rowSums1', B * 64],
    ];
    for (let t = 0; t < MAX_THREADS; t++)
      sizes.push(
        [`r${t}`, B * np * f],
        [`s${t}`, B * np * f],
        [`g${t}`, B * kq * f],
        [`u${t}`, B * kq * f],
        [`sums${t}`, B * 64],
      );
    for (const [name, bytes] of sizes) {
      this.at[name] = engine.alloc(bytes);
      this.regions.push(this.at[name]);
    }
    this.sets = [0, 1, 2].map(() => {
      const blocks = [B * np, B * np, B * kq, B * kq].map((floats) => engine.alloc(floats * f));
      this.regions.push(...blocks);
      return blocks;
    });
  }

  dispose(): void {
    for (const r of this.regions) this.engine.free(r);
    this.regions.length = 0;
  }

  /**
   * Pack a matrix into 16-column panels (step.ts's packPanels): Y[r][j] = transpose ? src[j][r] :
   * src[r][j] for a source [rows, cols]; zero padding.
   */
  private pack(dst: number, src: Source, rows: number, cols: number, transpose: boolean): void {
    const eng = this.engine;
    eng.f32.set(src.heap.subarray(src.offset, src.offset + rows * cols), this.at.stage >> 2);
    const [m, N] = transpose ? [cols, rows] : [rows, cols];
    eng.exports.packPanels(this.at.stage, cols, dst, m, N, transpose ? 1 : 0);
  }

  /** Pack the weights whose identity changed (per controller kind for Y1, Y2). */
  private prepare(inp: StepInputs, kind: FusedStepAttrs['kind']): void {
    const { n, k, batch, np, kq } = this;
    const H = this.engine.f32;
    const fresh = (key: string, id: object | undefined) => {
      if (id !== undefined && this.cached[key] === id) return false;
      this.cached[key] = id;
      return true;
    };
    const { ids } = inp;
    if (fresh('Y0', ids.W)) this.pack(this.at.Y0, inp.W, n, n, true);
    if (fresh('Yd', ids.D)) this.pack(this.at.Yd, inp.D, k, n, true);
    if (fresh('d', ids.d)) {
      H.fill(0, this.at.d >> 2, (this.at.d >> 2) + kq);
      H.set(inp.d.heap.subarray(inp.d.offset, inp.d.offset + k), this.at.d >> 2);
    }
    if (fresh('drive', ids.drive)) {
      const S = inp.drive.heap;
      for (let b = 0; b < batch; b++) {
        const so = inp.drive.offset + b * n;
        H.set(S.subarray(so, so + n), (this.at.drive >> 2) + b * np);
      }
    }
    if (kind === 'dynamic-inversion') {
      if (fresh('Y1', ids.W)) this.pack(this.at.Y1, inp.W, n, n, false);
      if (fresh('Y2', ids.D)) this.pack(this.at.Y2, inp.D, k, n, false);
    } else if (kind === 'dynamic-inversion-kp') {
      if (fresh('Y1', ids.fbA)) this.pack(this.at.Y1, inp.fbA!, n, n, true);
      if (fresh('Y2', ids.fbB)) this.pack(this.at.Y2, inp.fbB!, n, k, true);
    } else if (kind === 'linear-feedback') {
      if (fresh('Y2', ids.fbA)) this.pack(this.at.Y2, inp.fbA!, n, k, true);
    }
  }

  /** The thread count and split for this shape. */
  private plan(): { threads: number; split: number } {
    const { batch: B, n, k } = this;
    const helpers = this.engine.usableHelpers;
    const macs = B * (2 * n * n + 3 * n * k);
    if (helpers === 0 || macs < (this.engine.options.threadFrom ?? MIN_THREADED_MACS))
      return { threads: 1, split: 0 };
    const panels = this.np / 16;
    if (B >= 2 * (helpers + 1)) return { threads: helpers + 1, split: 0 };
    return { threads: Math.min(helpers + 1, panels), split: 1 };
  }

  /** Threads the next dispatch of this shape uses. */
  get threads(): number {
    return this.plan().threads;
  }

  /**
   * Run up to at.steps steps from inp.state with the stopping rule after each; write the state it
   * stopped on (the last good one on divergence) to out[outOffset …] and the stats.
   */
  run(
    inp: StepInputs,
    at: FusedStepAttrs,
    out: Float32Array,
    outOffset: number,
    stats: Float32Array,
  ): void {
    const { n, k, np, kq, batch: B } = this;
    const eng = this.engine;
    // Y1/Y2 are per kind: a change of kind repacks them.
    if (this.cached.kind !== (at.kind as unknown as object)) {
      this.cached.Y1 = undefined;
      this.cached.Y2 = undefined;
      this.cached.kind = at.kind as unknown as object;
    }
    this.prepare(inp, at.kind);
    const H = eng.f32;
    // State in, into set 0 (ψ and u_I into every set for a free run: they do not move).
    const S = inp.state.heap;
    const width = 2 * n + 2 * k;
    const [s0, s1, s2] = this.sets;
    for (let b = 0; b < B; b++) {
      const so = inp.state.offset + b * width;
      H.set(S.subarray(so, so + n), (s0[0] >> 2) + b * np);
      H.set(S.subarray(so + n, so + 2 * n), (s0[1] >> 2) + b * np);
      H.set(S.subarray(so + 2 * n, so + 2 * n + k), (s0[2] >> 2) + b * kq);
      H.set(S.subarray(so + 2 * n + k, so + width), (s0[3] >> 2) + b * kq);
    }
    if (at.kind === 'free') {
      for (const s of [s1, s2]) {
        H.copyWithin(s[1] >> 2, s0[1] >> 2, (s0[1] >> 2) + B * np);
        H.copyWithin(s[3] >> 2, s0[3] >> 2, (s0[3] >> 2) + B * kq);
      }
    }
    const T = inp.target.heap;
    for (let b = 0; b < B; b++) {
      const so = inp.target.offset + b * k;
      H.set(T.subarray(so, so + k), (this.at.target >> 2) + b * kq);
    }
    // The job.
    const ctx = eng.ctx;
    const buf = eng.memory.buffer;
    const iw = new Int32Array(buf, ctx, 128);
    const fw = new Float32Array(buf, ctx + F32_AT, 16);
    const dw = new Float64Array(buf, ctx + F64_AT, 32);
    const plan = this.plan();
    iw[I.B] = B;
    iw[I.n] = n;
    iw[I.k] = k;
    iw[I.np] = np;
    iw[I.kq] = kq;
    iw[I.kind] =
      at.kind === 'free' ? KIND.free : at.kind === 'linear-feedback' ? KIND.linear : KIND.dynamic;
    iw[I.loss] = at.loss === 'mse' ? 0 : 1;
    iw[I.act] = ACT[at.activation];
    iw[I.steps] = at.steps;
    iw[I.job] = JOB.steps;
    iw[I.threads] = plan.threads;
    iw[I.split] = plan.split;
    iw[I.units] = at.readout === 'units' ? 1 : 0;
    this.sets.forEach((blocks, s) => blocks.forEach((p, b) => (iw[I.sets + 4 * s + b] = p)));
    for (const name of ['drive', 'target', 'd', 'Y0', 'Yd', 'Y1', 'Y2', 'A', 'P', 'yd'] as const)
      iw[I[name]] = this.at[name];
    iw[I.rowSums] = this.at.rowSums0;
    iw[I.rowSums + 1] = this.at.rowSums1;
    for (let t = 0; t < MAX_THREADS; t++)
      ['r', 's', 'g', 'u', 'sums'].forEach((name, j) => {
        iw[I.thread + 5 * t + j] = this.at[`${name}${t}`];
      });
    iw[I.growing] = at.growing;
    fw[F.cPhi] = at.cPhi;
    fw[F.cY] = at.cY;
    fw[F.cU] = at.cU;
    fw[F.cPsi] = at.cPsi;
    fw[F.alpha] = at.alpha;
    fw[F.ki] = at.ki;
    fw[F.kp] = at.kp;
    dw[D.dt] = at.dt;
    dw[D.tol] = at.tol;
    dw[D.lastResidual] = at.lastResidual;
    dw[D.best] = at.best;
    const sizes = [B * n, B * k, B * k, B * n];
    const coef = [at.cPhi, at.cY, at.cU, at.cPsi];
    for (let i = 0; i < 4; i++) {
      dw[D.sizes + i] = sizes[i];
      dw[D.coef + i] = coef[i];
    }
    eng.exports.dispatch(ctx);
    // Results.
    const Hn = eng.f32;
    const iw2 = new Int32Array(eng.memory.buffer, ctx, 128);
    const dw2 = new Float64Array(eng.memory.buffer, ctx + F64_AT, 32);
    const cur = this.sets[iw2[I.cur]];
    for (let b = 0; b < B; b++) {
      const o = outOffset + b * width;
      out.set(Hn.subarray((cur[0] >> 2) + b * np, (cur[0] >> 2) + b * np + n), o);
      out.set(Hn.subarray((cur[1] >> 2) + b * np, (cur[1] >> 2) + b * np + n), o + n);
      out.set(Hn.subarray((cur[2] >> 2) + b * kq, (cur[2] >> 2) + b * kq + k), o + 2 * n);
      out.set(Hn.subarray((cur[3] >> 2) + b * kq, (cur[3] >> 2) + b * kq + k), o + 2 * n + k);
    }
    stats.fill(0);
    stats[STAT.steps] = iw2[I.done];
    stats[STAT.status] = iw2[I.status] === 0 ? STATUS.running : iw2[I.status];
    stats[STAT.residual] = dw2[D.residual];
    stats[STAT.rms] = dw2[D.rms];
    stats[STAT.growing] = iw2[I.growing];
    stats[STAT.lastResidual] = dw2[D.lastResidual];
    stats[STAT.best] = dw2[D.best];
    stats[STAT.raw] = dw2[D.raw];
    for (let i = 0; i < 8; i++) stats[STAT.sums + i] = dw2[D.sums + i];
  }
}

export { stepSupport };
