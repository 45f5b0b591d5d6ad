/**
 * Fused Euler steps: one tfjs kernel dispatch for one or several steps of dynamics.ts's
 * eulerStep, registered for the cpu, wasm and webgl backends (registerKernel needs no backend
 * code loaded: each implementation only touches its backend when it runs).
 *
 * The state travels packed as one [B, 2n + 2k] tensor (φ | ψ | y | u_I) that stays on the device
 * between dispatches; each dispatch also returns 16 stats (spec.ts, STAT) — the only numbers the
 * solver reads back.
 */
import {
  getKernel,
  registerKernel,
  type NamedAttrMap,
  type NamedTensorMap,
} from '@tensorflow/tfjs-core';
import type { ControllerSettings, DynState, Presentation } from '../dynamics';
import type { Network } from '../model';
import { tf, type Tensor } from '../tf';
import { cpuFusedStepConfig } from './cpu';
import { FUSED_STEP, type FusedKind, type FusedStepAttrs } from './spec';
import { ADAM_STEP, wasmAdamAvailable, wasmAdamStepConfig, type AdamStepAttrs } from './wasm/adam';
import {
  JOIN_COLUMNS,
  SPLIT_COLUMNS,
  wasmColumnsAvailable,
  wasmJoinColumnsConfig,
  wasmSplitColumnsConfig,
  type SplitColumnsAttrs,
} from './wasm/columns';
import { wasmFusedStepConfig, wasmKernelFlavour } from './wasm/kernel';
import { webglFusedStepConfig } from './webgl';

export * from './spec';

let registered = false;

/** Register the fused kernels for cpu, wasm and webgl (idempotent). */
export function registerFusedKernels(): void {
  if (registered) return;
  registered = true;
  for (const config of [
    cpuFusedStepConfig,
    wasmFusedStepConfig,
    webglFusedStepConfig,
    wasmAdamStepConfig,
    wasmSplitColumnsConfig,
    wasmJoinColumnsConfig,
  ]) {
    if (!getKernel(config.kernelName, config.backendName)) registerKernel(config);
  }
}
registerFusedKernels();

/** Backends whose kernel evaluates the stopping rule after every step (host memory). */
export function evaluatesOnDevice(backendName: string): boolean {
  return backendName === 'cpu' || backendName === 'wasm';
}

/**
 * How much more work than the cpu backend's plain loops a dispatch of this backend may hold for
 * the same wall time: the WASM step module (SIMD) runs a 256 × 64 step in ~0.6 ms on one core, the
 * loops in ~8 ms, so that a few-millisecond dispatch is 4× the multiply-adds there.
 */
export function dispatchScale(backendName: string): number {
  return backendName === 'wasm' && wasmKernelFlavour() !== 'js' ? 4 : 1;
}

let adamFused = true;
/** Use the fused Adam step where it exists (false: the op sequence everywhere; tests, measures). */
export function setFusedAdam(enabled: boolean): void {
  adamFused = enabled;
}

/**
 * Adam's step on one parameter in one pass (wasm/adam.ts), where the backend has it: [w′, Δ, m′,
 * v′], the same bits as optimizer.ts's op sequence; null elsewhere (that sequence then runs).
 */
export function fusedAdamStep(
  w: Tensor,
  dir: Tensor,
  m: Tensor | null,
  v: Tensor | null,
  attrs: AdamStepAttrs,
): [Tensor, Tensor, Tensor, Tensor] | null {
  if (!adamFused || tf.getBackend() !== 'wasm' || !wasmAdamAvailable(tf.backend())) return null;
  const inputs: NamedTensorMap = m && v ? { w, dir, m, v } : { w, dir };
  return tf.engine().runKernel(ADAM_STEP, inputs, attrs as unknown as NamedAttrMap) as unknown as [
    Tensor,
    Tensor,
    Tensor,
    Tensor,
  ];
}

export function hasFusedKernel(backendName: string = tf.getBackend()): boolean {
  return getKernel(FUSED_STEP, backendName) !== undefined;
}

/** Join and split column blocks in one pass on tfjs-wasm's heap (wasm/columns.ts)? */
const columnKernels = () => tf.getBackend() === 'wasm' && wasmColumnsAvailable(tf.backend());

/** φ | ψ | y | u_I as one [B, 2n + 2k] tensor. */
export function packState(s: DynState): Tensor {
  const blocks = [s.phi, s.psi, s.y, s.uI];
  if (!columnKernels()) return tf.concat(blocks, 1);
  const inputs: NamedTensorMap = {};
  blocks.forEach((t, i) => (inputs[`x${i}`] = t));
  return tf.engine().runKernel(JOIN_COLUMNS, inputs) as Tensor;
}

/** The four blocks of a packed state (new tensors; `packed` is left alone). */
export function unpackState(packed: Tensor, n: number, k: number): DynState {
  const B = packed.shape[0];
  if (columnKernels()) {
    const attrs: SplitColumnsAttrs = { widths: [n, n, k, k] };
    const [phi, psi, y, uI] = tf
      .engine()
      .runKernel(SPLIT_COLUMNS, { x: packed }, attrs as unknown as NamedAttrMap) as Tensor[];
    return { phi, psi, y, uI };
  }
  return {
    phi: tf.slice(packed, [0, 0], [B, n]),
    psi: tf.slice(packed, [0, n], [B, n]),
    y: tf.slice(packed, [0, 2 * n], [B, k]),
    uI: tf.slice(packed, [0, 2 * n + k], [B, k]),
  };
}

/** The dynamics a fused step integrates: controller kind, or 'free'. */
export function fusedKind(ctrl: ControllerSettings, controlled: boolean): FusedKind {
  if (!controlled) return 'free';
  // `energy` plays dynamic inversion's dynamics (dynamics.ts).
  return ctrl.kind === 'energy' ? 'dynamic-inversion' : ctrl.kind;
}

export interface FusedOptions {
  /** Steps in this dispatch. */
  steps: number;
  /** Stopping rule for host kernels: tol (≤ 0 never settles) and the growth bookkeeping. */
  tol?: number;
  growing?: number;
  lastResidual?: number;
  best?: number;
}

export interface FusedResult {
  /** The packed state after the steps (host kernels: the step they stopped at). */
  state: Tensor;
  /** [16] as spec.ts's STAT. */
  stats: Tensor;
}

/**
 * `opts.steps` Euler steps of eulerStep's dynamics in one dispatch, from a packed state.
 * The caller owns both outputs; `packed` is left alone.
 */
export function fusedSteps(
  net: Network,
  ctrl: ControllerSettings,
  dt: number,
  p: Presentation,
  packed: Tensor,
  controlled: boolean,
  opts: FusedOptions,
): FusedResult {
  const kind = fusedKind(ctrl, controlled);
  const { W, D, d, B, F, Q } = net.params;
  const inputs: NamedTensorMap = { state: packed, drive: p.drive, target: p.target, W, D, d };
  if (kind === 'dynamic-inversion-kp') {
    if (!B || !F) throw new Error('dynamic-inversion-kp needs B and F');
    inputs.fbA = B;
    inputs.fbB = F;
  } else if (kind === 'linear-feedback') {
    if (!Q) throw new Error('linear-feedback needs Q');
    inputs.fbA = Q;
  }
  const attrs: FusedStepAttrs = {
    n: net.n,
    k: net.k,
    kind,
    loss: p.loss,
    activation: net.activation,
    readout: net.readout,
    cPhi: dt / ctrl.tauPhi,
    cY: dt / ctrl.tauY,
    cU: dt / ctrl.tauU,
    cPsi: dt / ctrl.tauPsi,
    alpha: ctrl.alpha,
    ki: ctrl.ki,
    kp: ctrl.kp,
    steps: Math.max(1, Math.floor(opts.steps)),
    dt,
    tol: opts.tol ?? -1,
    growing: opts.growing ?? 0,
    lastResidual: opts.lastResidual ?? Infinity,
    best: opts.best ?? Infinity,
  };
  const [state, stats] = tf
    .engine()
    .runKernel(FUSED_STEP, inputs, attrs as unknown as NamedAttrMap) as Tensor[];
  return { state, stats };
}

/**
 * One fused Euler step on DynState tensors: the same contract as eulerStep (new tensors, the
 * input state left alone). Convenient for tests and for stepping a view frame by frame.
 */
export function fusedEulerStep(
  net: Network,
  ctrl: ControllerSettings,
  dt: number,
  p: Presentation,
  s: DynState,
  controlled: boolean,
  steps = 1,
): DynState {
  return tf.tidy(() => {
    const packed = packState(s);
    const out = fusedSteps(net, ctrl, dt, p, packed, controlled, { steps });
    const { phi, psi, y, uI } = unpackState(out.state, net.n, net.k);
    return { phi, psi, y, uI };
  });
}
