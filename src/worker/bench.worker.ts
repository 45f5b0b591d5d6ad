/**
 * The benchmark's worker (bench.html; driven by scripts/bench.ts and tests/e2e/kernels.e2e.ts).
 *
 * 'run': for each backend (forced, and 'auto' — initBackend's own choice from its short
 *   measurement at each size) and each size n × batch, the controlled dynamic-inversion step
 *   (mse, tanh, 10 outputs; the set-up of ../shared/bench/torch_reference.py) is measured in
 *   steps per second through relax on the fused path — the same code path, dispatches and
 *   read-backs as a real relaxation. Optionally the unfused reference path too.
 * 'check': fused against unfused on a forced backend, and equilibria of given scenarios, for the
 *   end-to-end test.
 */
import {
  disposeState,
  eulerStep,
  presentation,
  type ControllerSettings,
  type DynState,
} from '../engine/dynamics';
import { fusedEulerStep, fusedSteps, packState } from '../engine/kernels';
import {
  setWasmKernelOptions,
  wasmKernelFlavour,
  wasmKernelThreads,
} from '../engine/kernels/wasm/kernel';
import { setWebGLTwoPassThreshold } from '../engine/kernels/webgl';
import { disposeNetwork, networkFromArrays, type NetworkArrays } from '../engine/model';
import type { LossKind } from '../engine/losses';
import { relax } from '../engine/solver';
import { tf } from '../engine/tf';
import {
  captureTensors,
  initBackend,
  loseWebGLContext,
  makeProbe,
  measureSteps,
  onContextLost,
  switchBackend,
  type BackendName,
} from './backends';

export type BenchBackend = BackendName | 'auto';

export interface RunRequest {
  type: 'run';
  backends: BenchBackend[];
  sizes: [number, number][];
  /** Seconds of measurement per figure. */
  seconds: number;
  /** Also measure the unfused reference eulerStep (one tfjs op at a time). */
  unfused?: boolean;
  /** Override the WebGL kernel's two-pass threshold on B·n² (0: always two passes). */
  webglTwoPass?: number;
  /** false: the WASM kernel without relaxed SIMD's madd. */
  wasmFma?: boolean;
  /** Threads of the WASM kernel (default 'auto': every core, where the page is isolated). */
  wasmThreads?: number | 'auto';
  /** The WASM GEMM's register tile rows and inner unrolling (measurements). */
  wasmTileRows?: number;
  wasmUnroll?: number;
  /** A label for these figures (e.g. "wasm, 1 thread"), kept in each figure. */
  label?: string;
}

export interface Figure {
  backend: BenchBackend;
  n: number;
  batch: number;
  steps_per_s: number;
  /** 'auto': the backend it picked, and initBackend's reason. */
  picked?: BackendName;
  reason?: string;
  /** Which implementation: the fused kernel (default) or the unfused reference. */
  path?: 'fused' | 'unfused';
  /** WASM: the kernel's flavour ('simd+fma', 'simd', 'js') and threads used at this size. */
  flavour?: string;
  threads?: number;
  label?: string;
}

/** One scenario for 'check': plain arrays, as a Node test builds them. */
export interface CheckScenario {
  name: string;
  model: NetworkArrays;
  x: number[][];
  target: number[][];
  loss: LossKind;
  controller: ControllerSettings;
  solver: { dt: number; tol: number; maxSteps: number };
}

export interface CheckRequest {
  type: 'check';
  backend: BenchBackend;
  scenarios: CheckScenario[];
  /** Also count tensors after 100 and after 10,000 steps (relax, and frame by frame). */
  leaks?: boolean;
  /** WASM kernel options for this check (FMA or not, threads, threads at every size). */
  wasm?: { fma?: boolean; threads?: number | 'auto'; threadFrom?: number };
}

export interface CheckResult {
  name: string;
  backend: string;
  /** ‖fused − unfused‖ / ‖unfused‖ after 1 step and after 100 steps (one dispatch), controlled. */
  rel1: number;
  rel100: number;
  /** Equilibria by relax on the fused path (φ | y, and ψ | u_I for the controlled one). */
  free: { state: number[]; steps: number; converged: boolean };
  controlled: { state: number[]; steps: number; converged: boolean };
}

/** Lose the WebGL context mid-run and carry the state over to another backend. */
export interface ContextLossRequest {
  type: 'contextLoss';
  /** Where to go after the loss. */
  to: BenchBackend;
}

export interface ContextLossResult {
  before: string;
  after: string;
  reason: string;
  /** The state came back bit for bit, and a relaxation then runs on the new backend. */
  restored: boolean;
  relaxedSteps: number;
}

export type BenchMessage =
  | { type: 'figure'; figure: Figure }
  | { type: 'log'; text: string }
  | { type: 'done'; figures: Figure[] }
  | {
      type: 'checked';
      results: CheckResult[];
      backend: string;
      reason: string;
      /** tf.memory().numTensors (and the backend's data buffers) after 100 and 10,000 steps. */
      tensors?: { after100: number; after10000: number; buffers100: number; buffers10000: number };
      /** The WASM kernel: its flavour, threads per scenario, and whether the page is isolated. */
      wasm?: { flavour: string; threads: number[]; isolated: boolean };
    }
  | { type: 'contextLost'; result: ContextLossResult }
  | { type: 'error'; message: string };

const scope = self as unknown as {
  postMessage(m: BenchMessage): void;
  onmessage: ((e: MessageEvent<RunRequest | CheckRequest | ContextLossRequest>) => void) | null;
};

function post(m: BenchMessage): void {
  scope.postMessage(m);
}

async function run(req: RunRequest): Promise<void> {
  const figures: Figure[] = [];
  const ms = req.seconds * 1000;
  if (req.webglTwoPass !== undefined) setWebGLTwoPassThreshold(req.webglTwoPass);
  setWasmKernelOptions({
    fma: req.wasmFma ?? true,
    threads: req.wasmThreads ?? 'auto',
    tileRows: req.wasmTileRows,
    unroll: req.wasmUnroll,
  });
  for (const backend of req.backends) {
    for (const [n, batch] of req.sizes) {
      const init = await initBackend(backend, { n, batch, k: 10 });
      if (backend !== 'auto' && init.backend !== backend) {
        post({ type: 'log', text: `${backend} unavailable: ${init.reason}` });
        break;
      }
      if (init.backend === 'wasm' && n === req.sizes[0][0] && batch === req.sizes[0][1])
        post({ type: 'log', text: `wasm kernel: ${wasmKernelFlavour()}; ${init.reason}` });
      if (backend === 'auto')
        post({
          type: 'log',
          text: `auto at n=${n} × ${batch}: chose in ${init.ms} ms ${JSON.stringify(init.timings)}`,
        });
      const paths: ('fused' | 'unfused')[] =
        req.unfused && backend !== 'auto' ? ['fused', 'unfused'] : ['fused'];
      for (const path of paths) {
        const probe = makeProbe(n, batch, 10);
        try {
          const rate = measureSteps(probe, ms, { fused: path === 'fused' });
          const figure: Figure = { backend, n, batch, steps_per_s: Math.round(rate) };
          if (req.label) figure.label = req.label;
          if (init.backend === 'wasm' && path === 'fused') {
            figure.flavour = wasmKernelFlavour();
            figure.threads = wasmKernelThreads(batch, n, 10);
          }
          if (backend === 'auto') {
            figure.picked = init.backend;
            figure.reason = init.reason;
          }
          if (req.unfused) figure.path = path;
          figures.push(figure);
          post({ type: 'figure', figure });
        } finally {
          probe.dispose();
        }
      }
    }
  }
  // The app under training load (long tasks, frames/s) is measured by scripts/bench.ts on index.html.
  post({ type: 'done', figures });
}

function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let nrm = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    nrm += b[i] ** 2;
  }
  return Math.sqrt(d) / Math.max(Math.sqrt(nrm), 1e-30);
}

function zero(batch: number, n: number, k: number): DynState {
  return {
    phi: tf.zeros([batch, n]),
    y: tf.zeros([batch, k]),
    uI: tf.zeros([batch, k]),
    psi: tf.zeros([batch, n]),
  };
}

function flatState(s: DynState): number[] {
  const t = packState(s);
  const v = Array.from(t.dataSync());
  t.dispose();
  return v;
}

async function check(req: CheckRequest): Promise<void> {
  setWasmKernelOptions({
    fma: req.wasm?.fma ?? true,
    threads: req.wasm?.threads ?? 'auto',
    threadFrom: req.wasm?.threadFrom,
  });
  const init = await initBackend(req.backend, { n: 16, batch: 4, k: 4 });
  const results: CheckResult[] = [];
  for (const sc of req.scenarios) {
    const net = networkFromArrays(sc.model);
    const x = tf.tensor2d(sc.x);
    const target = tf.tensor2d(sc.target);
    const p = presentation(net, x, target, sc.loss);
    const batch = sc.x.length;
    try {
      // Fused against unfused from a non-zero state: 1 step, then 100 steps in one dispatch.
      const start = zero(batch, net.n, net.k);
      const s0: DynState = {
        phi: tf.add(start.phi, 0.3),
        y: tf.add(start.y, -0.2),
        uI: tf.add(start.uI, 0.1),
        psi: tf.add(start.psi, 0.05),
      };
      disposeState(start);
      const rel = (steps: number) => {
        let s = s0;
        for (let i = 0; i < steps; i++) {
          const next = eulerStep(net, sc.controller, sc.solver.dt, p, s, true);
          if (s !== s0) disposeState(s);
          s = next;
        }
        const ref = flatState(s);
        if (s !== s0) disposeState(s);
        const packed = packState(s0);
        const out = fusedSteps(net, sc.controller, sc.solver.dt, p, packed, true, { steps });
        const got = Array.from(out.state.dataSync());
        tf.dispose([packed, out.state, out.stats]);
        return relDiff(got, ref);
      };
      const rel1 = rel(1);
      const rel100 = rel(100);
      disposeState(s0);
      const free = relax(net, sc.controller, sc.solver, p, zero(batch, net.n, net.k), false);
      const controlled = relax(net, sc.controller, sc.solver, p, zero(batch, net.n, net.k), true);
      results.push({
        name: sc.name,
        backend: tf.getBackend(),
        rel1,
        rel100,
        free: { state: flatState(free.state), steps: free.steps, converged: free.converged },
        controlled: {
          state: flatState(controlled.state),
          steps: controlled.steps,
          converged: controlled.converged,
        },
      });
      disposeState(free.state);
      disposeState(controlled.state);
    } finally {
      tf.dispose([x, target, p.drive]);
      disposeNetwork(net);
    }
  }
  const tensors = req.leaks ? countTensors() : undefined;
  const wasm =
    init.backend === 'wasm'
      ? {
          flavour: wasmKernelFlavour(),
          threads: req.scenarios.map((sc) =>
            wasmKernelThreads(sc.x.length, sc.model.W.length, sc.model.D?.length ?? 1),
          ),
          isolated:
            (self as unknown as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
        }
      : undefined;
  post({ type: 'checked', results, backend: init.backend, reason: init.reason, tensors, wasm });
}

/**
 * tf.memory().numTensors, and the backend's own count of data buffers (which also sees a
 * kernel's intermediate textures), after 100 steps and after 10,000 more (relax, then frames).
 */
function countTensors() {
  const buffers = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
  const probe = makeProbe(16, 2, 3);
  const steps = (relaxSteps: number, frames: number) => {
    const r = relax(
      probe.net,
      probe.ctrl,
      { dt: 0.1, tol: 0, maxSteps: relaxSteps },
      probe.p,
      zero(2, 16, 3),
      true,
    );
    let s = r.state;
    for (let i = 0; i < frames; i++) {
      const next = fusedEulerStep(probe.net, probe.ctrl, 0.1, probe.p, s, true);
      disposeState(s);
      s = next;
    }
    s.phi.dataSync();
    disposeState(s);
  };
  try {
    steps(90, 10);
    const after100 = tf.memory().numTensors;
    const buffers100 = buffers();
    steps(9_000, 1_000);
    return { after100, after10000: tf.memory().numTensors, buffers100, buffers10000: buffers() };
  } finally {
    probe.dispose();
  }
}

async function contextLoss(req: ContextLossRequest): Promise<void> {
  const hint = { n: 24, batch: 3, k: 4 };
  const init = await initBackend('webgl', hint);
  if (init.backend !== 'webgl') throw new Error(`no WebGL here: ${init.reason}`);
  const probe = makeProbe(hint.n, hint.batch, hint.k);
  // A state in the middle of a run, on the GPU; the snapshot a worker would keep for views.
  const r = relax(
    probe.net,
    probe.ctrl,
    { dt: 0.1, tol: 0, maxSteps: 20 },
    probe.p,
    zero(3, 24, 4),
    true,
  );
  const live = { phi: r.state.phi, psi: r.state.psi, y: r.state.y, uI: r.state.uI };
  const snapshot = captureTensors(live);
  probe.dispose();
  const lost = new Promise<void>((ok) => {
    const off = onContextLost(() => {
      off();
      ok();
    });
  });
  if (!loseWebGLContext()) throw new Error('WEBGL_lose_context is not available');
  await lost;
  const moved = await switchBackend(req.to, live, hint, snapshot);
  let restored = true;
  for (const key of Object.keys(snapshot)) {
    const got = moved.tensors[key].dataSync();
    const want = snapshot[key].data;
    if (got.length !== want.length || want.some((v, i) => v !== got[i])) restored = false;
  }
  // The run goes on from the restored state on the new backend.
  const probe2 = makeProbe(hint.n, hint.batch, hint.k);
  const state = moved.tensors as unknown as DynState;
  const next = relax(
    probe2.net,
    probe2.ctrl,
    { dt: 0.1, tol: 1e-5, maxSteps: 5000 },
    probe2.p,
    state,
    true,
  );
  disposeState(next.state);
  probe2.dispose();
  post({
    type: 'contextLost',
    result: {
      before: 'webgl',
      after: moved.backend,
      reason: moved.reason,
      restored,
      relaxedSteps: next.steps,
    },
  });
}

scope.onmessage = (e) => {
  const req = e.data;
  const job = req.type === 'run' ? run(req) : req.type === 'check' ? check(req) : contextLoss(req);
  job.catch((err: unknown) =>
    post({
      type: 'error',
      message: err instanceof Error ? `${err.message}\n${err.stack}` : String(err),
    }),
  );
};
