/**
 * The engine's compute backend, chosen and set up INSIDE the worker (DESIGN.md §3).
 *
 * - webgl: tfjs WebGL on an OffscreenCanvas created here (WebGL2 and float32 render targets
 *   required; software renderers allowed — the measurement decides), registered lazily.
 * - wasm: tfjs WASM, its binaries located through Vite `?url` imports so that dist/ works from any
 *   static server (setWasmPaths), registered lazily.
 * - cpu: always there.
 *
 * 'auto' measures the fused step (kernels/) per candidate at the size hint for a short time and
 * picks the fastest. Every forced choice is checked (availability, then one fused step against
 * the unfused reference); a failure falls back (webgl → wasm → cpu) with the reason in the result.
 */
import wasmPlainUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimdUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedUrl from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { BackendChoice } from '../engine/config';
import {
  disposeState,
  eulerStep,
  presentation,
  type ControllerSettings,
  type DynState,
} from '../engine/dynamics';
import { fusedEulerStep, fusedSteps, hasFusedKernel, STAT } from '../engine/kernels';
import { disposeNetwork, networkFromArrays, type Network } from '../engine/model';
import { relax } from '../engine/solver';
import { tf, type Tensor } from '../engine/tf';

export type BackendName = 'webgl' | 'wasm' | 'cpu';

export interface SizeHint {
  /** Hidden units and batch of the runs to come (outputs default to 10). */
  n: number;
  batch: number;
  k?: number;
}

export interface BackendResult {
  backend: BackendName;
  /** One line for the status bar: what was chosen and why (fallbacks included). */
  reason: string;
  /** Fused steps per second measured per candidate ('auto' only). */
  measured?: Partial<Record<BackendName, number>>;
  /** Wall time of the set-up, checks and measurement, in milliseconds. */
  ms?: number;
  /** 'auto': where that time went, per phase and backend (ms). */
  timings?: Record<string, number>;
}

/** Total time 'auto' spends measuring (warm-up excluded), split between the candidates. */
export const AUTO_BUDGET_MS = 150;

// ---------------------------------------------------------------------------------------------
// Availability and lazy registration

let webglCanvas: OffscreenCanvas | null = null;
let webglContext: WebGL2RenderingContext | null = null;
let webglReady: Promise<void> | null = null;
let wasmReady: Promise<void> | null = null;
const contextLostListeners = new Set<() => void>();

/** Why WebGL cannot be used here, or null when WebGL2 with float32 render targets is present. */
export function webglProblem(): string | null {
  if (typeof OffscreenCanvas === 'undefined') return 'no OffscreenCanvas in this worker';
  if (webglContext && !webglContext.isContextLost()) return null;
  const canvas = new OffscreenCanvas(1, 1);
  const gl = canvas.getContext('webgl2', {
    alpha: false,
    antialias: false,
    depth: false,
    stencil: false,
    failIfMajorPerformanceCaveat: false,
  }) as WebGL2RenderingContext | null;
  if (!gl) return 'WebGL2 is not available';
  if (!gl.getExtension('EXT_color_buffer_float')) return 'float32 render targets are not supported';
  gl.getExtension('WEBGL_lose_context')?.loseContext();
  return null;
}

async function ensureWebGL(): Promise<void> {
  webglReady ??= (async () => {
    const problem = webglProblem();
    if (problem) throw new Error(problem);
    const webgl = await import('@tensorflow/tfjs-backend-webgl');
    webglCanvas = new OffscreenCanvas(300, 150);
    webglContext = webglCanvas.getContext('webgl2', {
      alpha: false,
      antialias: false,
      premultipliedAlpha: false,
      preserveDrawingBuffer: false,
      depth: false,
      stencil: false,
      failIfMajorPerformanceCaveat: false,
    }) as WebGL2RenderingContext | null;
    if (!webglContext) throw new Error('WebGL2 is not available');
    webglCanvas.addEventListener('webglcontextlost', (e) => {
      e.preventDefault();
      for (const cb of contextLostListeners) cb();
    });
    tf.env().set('WEBGL_VERSION', 2);
    webgl.setWebGLContext(2, webglContext);
    // After resetWebGL the factory is gone: register it again.
    if (!tf.findBackendFactory('webgl'))
      tf.registerBackend('webgl', () => new webgl.MathBackendWebGL(), 2);
  })();
  try {
    await webglReady;
  } catch (e) {
    webglReady = null;
    throw e;
  }
}

async function ensureWasm(): Promise<void> {
  wasmReady ??= (async () => {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths({
      'tfjs-backend-wasm.wasm': wasmPlainUrl,
      'tfjs-backend-wasm-simd.wasm': wasmSimdUrl,
      'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedUrl,
    });
  })();
  await wasmReady;
}

async function activate(name: BackendName): Promise<void> {
  if (name === 'webgl') await ensureWebGL();
  if (name === 'wasm') await ensureWasm();
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tfjs could not initialise ${name}`);
  await tf.ready();
  if (name === 'webgl' && !tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED'))
    throw new Error('float32 render targets are not enabled');
  if (!hasFusedKernel(name)) throw new Error(`no fused kernel for ${name}`);
}

// ---------------------------------------------------------------------------------------------
// The probe network: the benchmark's controlled step (dynamic inversion, mse, tanh, 10 outputs)

/** A deterministic normal draw (Box–Muller on a small LCG): the probe needs no seeded streams. */
function normals(count: number, seed: number): number[] {
  let s = seed >>> 0 || 1;
  const uniform = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 4294967296;
  };
  const out: number[] = [];
  while (out.length < count) {
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const a = 2 * Math.PI * uniform();
    out.push(r * Math.cos(a), r * Math.sin(a));
  }
  return out.slice(0, count);
}

function rows(data: number[], r: number, c: number, scale: number): number[][] {
  return Array.from({ length: r }, (_, i) => data.slice(i * c, (i + 1) * c).map((v) => v * scale));
}

export interface Probe {
  net: Network;
  ctrl: ControllerSettings;
  p: ReturnType<typeof presentation>;
  dispose(): void;
}

/**
 * The torch reference's set-up (../shared/bench/torch_reference.py): W ~ N(0, 0.25/n),
 * D ~ N(0, 1/n), d = 0, drive = U x + b ~ N(0, 1), targets ~ N(0, 1), dt = 0.1, α = 0.1,
 * k_i = 1, k_p = 0, every τ = 1.
 */
export function makeProbe(n: number, batch: number, k = 10, seed = 1): Probe {
  const net = networkFromArrays({
    activation: 'tanh',
    W: rows(normals(n * n, seed), n, n, 0.5 / Math.sqrt(n)),
    U: rows(normals(n, seed + 1), n, 1, 1),
    b: new Array<number>(n).fill(0),
    D: rows(normals(k * n, seed + 2), k, n, 1 / Math.sqrt(n)),
    d: new Array<number>(k).fill(0),
  });
  const ctrl: ControllerSettings = {
    kind: 'dynamic-inversion',
    alpha: 0.1,
    ki: 1,
    kp: 0,
    tauPhi: 1,
    tauY: 1,
    tauU: 1,
    tauPsi: 1,
    lr: 0.01,
  };
  const x = tf.zeros([batch, 1]);
  const target = tf.tensor2d(rows(normals(batch * k, seed + 3), batch, k, 1));
  const p = presentation(net, x, target, 'mse');
  p.drive.dispose();
  p.drive = tf.tensor2d(rows(normals(batch * n, seed + 4), batch, n, 1));
  return {
    net,
    ctrl,
    p,
    dispose() {
      tf.dispose([x, target, p.drive]);
      disposeNetwork(net);
    },
  };
}

/**
 * Controlled steps per second of relax on the current backend (the fused path unless
 * fused = false), from the probe's zero state; tol = 0 so that it never stops early. Runs
 * relaxations of doubling length until `ms` milliseconds have passed (after one warm-up
 * relaxation of `warmupSteps`, which compiles shaders and fills caches).
 */
export function measureSteps(
  probe: Probe,
  ms: number,
  opts: { fused?: boolean; warmupSteps?: number; maxChunk?: number } = {},
): number {
  const { net, ctrl, p } = probe;
  const batch = p.drive.shape[0];
  const run = (steps: number) => {
    const r = relax(
      net,
      ctrl,
      { dt: 0.1, tol: 0, maxSteps: steps, fused: opts.fused },
      p,
      {
        phi: tf.zeros([batch, net.n]),
        y: tf.zeros([batch, net.k]),
        uI: tf.zeros([batch, net.k]),
        psi: tf.zeros([batch, net.n]),
      },
      true,
    );
    // A read-back that waits for the device (WebGL runs asynchronously).
    r.state.y.dataSync();
    disposeState(r.state);
    return r.steps;
  };
  run(opts.warmupSteps ?? 2);
  let chunk = 1;
  let steps = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    const c0 = performance.now();
    steps += run(chunk);
    const took = performance.now() - c0;
    elapsed = performance.now() - t0;
    if (took < (ms - elapsed) / 4) chunk = Math.min(chunk * 2, opts.maxChunk ?? 1 << 16);
  }
  return steps / (elapsed / 1000);
}

/**
 * Steps per second of the fused kernel alone (what 'auto' compares): dispatches of doubling
 * length from a zero packed state, each followed by the read-back of its stats, as relax does.
 * Only the kernel's own programs are compiled (one warm-up dispatch).
 */
export function measureKernel(probe: Probe, ms: number): number {
  const { net, ctrl, p } = probe;
  const batch = p.drive.shape[0];
  let packed = tf.zeros([batch, 2 * net.n + 2 * net.k]);
  // tol < 0: never settles, so every dispatch runs all its steps (it reports how many it ran).
  const dispatch = (steps: number) => {
    const out = fusedSteps(net, ctrl, 0.1, p, packed, true, { steps, tol: -1 });
    const done = out.stats.dataSync()[STAT.steps];
    out.stats.dispose();
    packed.dispose();
    packed = out.state;
    return done;
  };
  try {
    dispatch(1);
    let chunk = 1;
    let steps = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (elapsed < ms) {
      const c0 = performance.now();
      steps += dispatch(chunk);
      const took = performance.now() - c0;
      elapsed = performance.now() - t0;
      if (took < (ms - elapsed) / 4) chunk = Math.min(chunk * 2, 4096);
    }
    return steps / (elapsed / 1000);
  } finally {
    packed.dispose();
  }
}

/** One fused step equals one reference step (relative 1e-4) on the current backend. */
function selfTest(): void {
  const probe = makeProbe(5, 2, 3, 7);
  const s: DynState = {
    phi: tf.tensor2d(rows(normals(10, 9), 2, 5, 0.5)),
    psi: tf.tensor2d(rows(normals(10, 10), 2, 5, 0.1)),
    y: tf.tensor2d(rows(normals(6, 11), 2, 3, 0.5)),
    uI: tf.tensor2d(rows(normals(6, 12), 2, 3, 0.1)),
  };
  try {
    const a = fusedEulerStep(probe.net, probe.ctrl, 0.1, probe.p, s, true);
    const b = eulerStep(probe.net, probe.ctrl, 0.1, probe.p, s, true);
    const va = tf.concat([a.phi, a.psi, a.y, a.uI], 1);
    const vb = tf.concat([b.phi, b.psi, b.y, b.uI], 1);
    const x = va.dataSync();
    const y = vb.dataSync();
    tf.dispose([va, vb]);
    disposeState(a);
    disposeState(b);
    let d = 0;
    let nrm = 0;
    for (let i = 0; i < x.length; i++) {
      d += (x[i] - y[i]) ** 2;
      nrm += y[i] ** 2;
    }
    const rel = Math.sqrt(d / nrm);
    if (!(rel < 1e-4))
      throw new Error(`fused step differs from the reference (${rel.toExponential(1)})`);
  } finally {
    disposeState(s);
    probe.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Choosing

const FALLBACK: Record<BackendName, BackendName | null> = { webgl: 'wasm', wasm: 'cpu', cpu: null };
const LABEL: Record<BackendName, string> = { webgl: 'WebGL', wasm: 'WASM', cpu: 'CPU' };

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Activate `name` and check its fused kernel; on failure try the next one down. */
async function forced(name: BackendName, notes: string[]): Promise<BackendName> {
  try {
    await activate(name);
    selfTest();
    return name;
  } catch (e) {
    const next = FALLBACK[name];
    notes.push(`${LABEL[name]} unavailable (${describe(e)})`);
    if (!next) throw new Error(notes.join('; '), { cause: e });
    return forced(next, notes);
  }
}

const fmt = (v: number) => Math.round(v).toLocaleString('en-US');

/**
 * Set up the backend for `choice` inside the worker. 'auto' measures the fused controlled step
 * of every available backend at `sizeHint` (AUTO_BUDGET_MS in total) and keeps the fastest.
 */
export async function initBackend(
  choice: BackendChoice,
  sizeHint: SizeHint,
): Promise<BackendResult> {
  const t0 = performance.now();
  const result = await choose(choice, sizeHint);
  return { ...result, ms: Math.round(performance.now() - t0) };
}

/** A macrotask break: messages queued meanwhile (heartbeats, Stop) are handled now. */
function yieldToMessages(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function choose(choice: BackendChoice, sizeHint: SizeHint): Promise<BackendResult> {
  const notes: string[] = [];
  if (choice !== 'auto') {
    const backend = await forced(choice, notes);
    const reason =
      backend === choice
        ? `${LABEL[backend]} (chosen)`
        : `${notes.join('; ')}: using ${LABEL[backend]}`;
    return { backend, reason };
  }
  // Measure every backend that comes up; check (selfTest) only the winner, falling back to the
  // next fastest if it fails: checks cost shader compiles that a loser need not pay.
  const measured: Partial<Record<BackendName, number>> = {};
  const available: BackendName[] = [];
  const timings: Record<string, number> = {};
  let mark = performance.now();
  const lap = (key: string) => {
    const now = performance.now();
    timings[key] = Math.round((timings[key] ?? 0) + now - mark);
    mark = now;
  };
  for (const name of ['webgl', 'wasm', 'cpu'] as const) {
    await yieldToMessages();
    try {
      await activate(name);
      lap(`start ${name}`);
      available.push(name);
    } catch (e) {
      notes.push(`${LABEL[name]} unavailable (${describe(e)})`);
      lap(`start ${name}`);
    }
  }
  const share = AUTO_BUDGET_MS / Math.max(1, available.length);
  for (const name of available) {
    // Between candidates the worker answers its messages (heartbeats, Stop).
    await yieldToMessages();
    await activate(name);
    const probe = makeProbe(sizeHint.n, sizeHint.batch, sizeHint.k ?? 10);
    try {
      measured[name] = measureKernel(probe, share);
    } catch (e) {
      notes.push(`${LABEL[name]} failed while measuring (${describe(e)})`);
    } finally {
      probe.dispose();
    }
    lap(`measure ${name}`);
  }
  const ranked = available
    .filter((c) => measured[c] !== undefined)
    .sort((a, b) => measured[b]! - measured[a]!);
  let backend: BackendName | null = null;
  for (const name of ranked) {
    try {
      await activate(name);
      selfTest();
      backend = name;
      break;
    } catch (e) {
      notes.push(`${LABEL[name]} failed its check (${describe(e)})`);
    }
  }
  if (!backend) backend = await forced('cpu', notes);
  lap('check');
  const others = ranked
    .filter((c) => c !== backend)
    .map((c) => `${LABEL[c]} ${fmt(measured[c]!)}`)
    .join(', ');
  const reason =
    `auto: ${LABEL[backend]}, ${fmt(measured[backend] ?? 0)} steps/s at n=${sizeHint.n}×batch ${sizeHint.batch}` +
    (others ? ` (${others})` : '') +
    (notes.length ? `; ${notes.join('; ')}` : '');
  return { backend, reason, measured, timings };
}

// ---------------------------------------------------------------------------------------------
// Moving state between backends (WebGL context loss)

/** Tensors as plain arrays: what survives a backend (or a lost GPU context). */
export type TensorSnapshot = Record<string, { shape: number[]; data: Float32Array }>;

/** Read tensors back to typed arrays (call while the backend still works). */
export function captureTensors(tensors: Record<string, Tensor | undefined | null>): TensorSnapshot {
  const out: TensorSnapshot = {};
  for (const [key, t] of Object.entries(tensors)) {
    if (!t) continue;
    out[key] = { shape: t.shape.slice(), data: Float32Array.from(t.dataSync()) };
  }
  return out;
}

/** Re-create tensors (on the current backend) from a snapshot. */
export function restoreTensors(snapshot: TensorSnapshot): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [key, { shape, data }] of Object.entries(snapshot)) out[key] = tf.tensor(data, shape);
  return out;
}

/** Has the WebGL context this module made been lost? */
export function webglContextLost(): boolean {
  return webglContext !== null && webglContext.isContextLost();
}

/**
 * Switch backend mid-run, keeping state: the tensors are read to typed arrays on the old backend
 * — or, when that backend is WebGL and its context is lost (reads would return zeros), taken from
 * `fallbackSnapshot`, the last captureTensors the caller made — the old tensors are disposed, the
 * new backend is set up as initBackend(choice) (after a loss, WebGL gets a new context) and the
 * tensors are re-created there. Returns the new tensors under the same keys.
 */
export async function switchBackend(
  choice: BackendChoice,
  tensors: Record<string, Tensor | undefined | null>,
  sizeHint: SizeHint,
  fallbackSnapshot?: TensorSnapshot,
): Promise<BackendResult & { tensors: Record<string, Tensor> }> {
  const lost = tf.getBackend() === 'webgl' && webglContextLost();
  let snapshot: TensorSnapshot;
  if (lost) {
    if (!fallbackSnapshot) throw new Error('the WebGL context is lost and there is no snapshot');
    snapshot = fallbackSnapshot;
  } else {
    try {
      snapshot = captureTensors(tensors);
    } catch (e) {
      if (!fallbackSnapshot)
        throw new Error(`cannot read the state back (${describe(e)})`, { cause: e });
      snapshot = fallbackSnapshot;
    }
  }
  for (const t of Object.values(tensors)) {
    try {
      t?.dispose();
    } catch {
      // A lost context cannot free its textures; they are gone with it.
    }
  }
  if (lost) resetWebGL();
  const result = await initBackend(choice, sizeHint);
  return { ...result, tensors: restoreTensors(snapshot) };
}

/** Be told when the WebGL context is lost (returns the unsubscribe function). */
export function onContextLost(cb: () => void): () => void {
  contextLostListeners.add(cb);
  return () => contextLostListeners.delete(cb);
}

/** Test hook: lose the WebGL context as a GPU reset would. False when there is none. */
export function loseWebGLContext(): boolean {
  const ext = webglContext?.getExtension('WEBGL_lose_context');
  if (!ext) return false;
  ext.loseContext();
  return true;
}

/**
 * After a lost context: forget the WebGL backend so that a later 'webgl' or 'auto' choice makes
 * a new context (switchBackend does this itself).
 */
export function resetWebGL(): void {
  try {
    if (tf.getBackend() === 'webgl') tf.setBackend('cpu');
    if (tf.findBackend('webgl')) tf.removeBackend('webgl');
  } catch {
    // already gone
  }
  webglReady = null;
  webglContext = null;
  webglCanvas = null;
}
