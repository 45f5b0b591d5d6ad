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
import { disposeState, eulerStep, type DynState } from '../engine/dynamics';
import { fusedEulerStep, hasFusedKernel } from '../engine/kernels';
import { fastTransposedMatMul, prepareWasmKernel } from '../engine/kernels/wasm/kernel';
import { tf, type Tensor } from '../engine/tf';
import { makeProbe, measureKernel, normals, rows } from './probe';

export { makeProbe, measureKernel, measureSteps, type Probe } from './probe';

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

/**
 * The WebGL renderer's name when it is a software rasteriser (SwiftShader, llvmpipe): it runs on
 * the same CPU cores as WASM, one op at a time, and has never come near it here (3,624 against
 * 159,606 steps/s at 2 units; 0.1–0.3× at every size of the benchmark). null for a real GPU.
 */
function softwareRenderer(): string | null {
  const gl = webglContext;
  if (!gl) return null;
  const info = gl.getExtension('WEBGL_debug_renderer_info');
  const name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '');
  return /swiftshader|llvmpipe|softpipe|software/i.test(name) ? name : null;
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
    // tfjs's own ops stay on its single-threaded SIMD build (the flag exists once the package is
    // loaded): the fused kernel runs threads of its own (kernels/wasm/stepper.ts), and two pools
    // would fight over the same cores.
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    fastTransposedMatMul();
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
  if (name === 'wasm') wasmThreads = await prepareWasmKernel();
}

/** The WASM kernel's threads and, on one thread, why (for the status bar). */
let wasmThreads: { threads: number; note: string } | null = null;

/** "WASM" with its threads: "WASM, 2 threads" or "WASM, one thread (…why…)". */
function wasmLabel(): string {
  return wasmThreads ? `WASM, ${wasmThreads.note}` : 'WASM';
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
  onStage?: StageListener,
): Promise<BackendResult> {
  const t0 = performance.now();
  const result = await choose(choice, sizeHint, onStage ?? (() => undefined));
  return { ...result, ms: Math.round(performance.now() - t0) };
}

/** Told what the choice is doing (for a progress line): e.g. ("measuring WASM", 2, 3). */
export type StageListener = (stage: string, done: number, total: number) => void;

/**
 * The largest probe the automatic choice measures: every candidate's cost grows like n² (and
 * linearly in the batch) beyond it, so the ranking there stands for larger sizes — whose probes
 * alone would take seconds to draw and to run.
 */
const PROBE_MAX = { n: 1024, batch: 64 };

/** A macrotask break: messages queued meanwhile (heartbeats, Stop) are handled now. */
function yieldToMessages(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function choose(
  choice: BackendChoice,
  sizeHint: SizeHint,
  onStage: StageListener,
): Promise<BackendResult> {
  const notes: string[] = [];
  if (choice !== 'auto') {
    const backend = await forced(choice, notes);
    const label = backend === 'wasm' ? wasmLabel() : LABEL[backend];
    const reason = backend === choice ? `${label} (chosen)` : `${notes.join('; ')}: using ${label}`;
    return { backend, reason };
  }
  const key = `${sizeHint.n}x${sizeHint.batch}x${sizeHint.k ?? 10}`;
  const known = decided.get(key);
  if (known) {
    try {
      await activate(known.backend);
      return { ...known, reason: `${known.reason} (measured earlier for this size)` };
    } catch {
      decided.delete(key);
    }
  }
  // Measure every backend that comes up; check (selfTest) only the winner, falling back to the
  // next fastest if it fails: checks cost shader compiles that a loser need not pay.
  const measured: Partial<Record<BackendName, number>> = {};
  const available: BackendName[] = [];
  /** Candidates left out on purpose (not failures: the decision may be cached). */
  const skipped: string[] = [];
  const timings: Record<string, number> = {};
  let mark = performance.now();
  const lap = (key: string) => {
    const now = performance.now();
    timings[key] = Math.round((timings[key] ?? 0) + now - mark);
    mark = now;
  };
  for (const [index, name] of (['webgl', 'wasm', 'cpu'] as const).entries()) {
    onStage(`starting ${LABEL[name]}`, index, 3);
    await yieldToMessages();
    try {
      if (name === 'webgl') {
        // Measuring a software rasteriser costs seconds of shader compiles for a sure loss.
        await ensureWebGL();
        const software = softwareRenderer();
        if (software) {
          skipped.push(`WebGL not measured: a software renderer (${software.slice(0, 40)})`);
          lap(`start ${name}`);
          continue;
        }
      }
      await activate(name);
      lap(`start ${name}`);
      available.push(name);
    } catch (e) {
      notes.push(`${LABEL[name]} unavailable (${describe(e)})`);
      lap(`start ${name}`);
    }
  }
  const share = AUTO_BUDGET_MS / Math.max(1, available.length);
  const probeN = Math.min(sizeHint.n, PROBE_MAX.n);
  const probeBatch = Math.min(sizeHint.batch, PROBE_MAX.batch);
  for (const [index, name] of available.entries()) {
    onStage(`measuring ${LABEL[name]}`, index, available.length);
    // Between candidates the worker answers its messages (heartbeats, Stop).
    await yieldToMessages();
    await activate(name);
    const probe = makeProbe(probeN, probeBatch, sizeHint.k ?? 10);
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
  const label = backend === 'wasm' ? wasmLabel() : LABEL[backend];
  const reason =
    `auto: ${label}, ${fmt(measured[backend] ?? 0)} steps/s at n=${sizeHint.n}×batch ${sizeHint.batch}` +
    (others ? ` (${others})` : '') +
    ([...skipped, ...notes].length ? `; ${[...skipped, ...notes].join('; ')}` : '');
  const result: BackendResult = { backend, reason, measured, timings };
  if (!notes.length) decided.set(key, result);
  return result;
}

/** 'auto' decisions by size (n × batch × k): a rebuild at a size seen before does not re-measure. */
const decided = new Map<string, BackendResult>();

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
  for (const [key, r] of decided) if (r.backend === 'webgl') decided.delete(key);
}
