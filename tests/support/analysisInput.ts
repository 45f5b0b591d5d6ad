/**
 * Analysis inputs (engine/alphaSweep.ts) built from plain arrays: a network, one sample, a
 * controller and a solver, for the α-sweep and EP tests.
 */
import type { AnalysisInput } from '../../src/engine/alphaSweep';
import type { ControllerSettings } from '../../src/engine/dynamics';
import { networkFromArrays, type NetworkArrays } from '../../src/engine/model';
import { tf } from '../../src/engine/tf';

export interface PlainSample {
  model: NetworkArrays;
  /** Outputs (readout `units`: the last k units). */
  k: number;
  x: number[];
  target: number[];
  ctrl?: Partial<ControllerSettings>;
  dt?: number;
  tol?: number;
  maxSteps?: number;
}

export function inputOf(s: PlainSample): AnalysisInput {
  return {
    net: networkFromArrays(s.model, s.k),
    ctrl: {
      kind: 'dynamic-inversion',
      alpha: 1,
      ki: 1,
      kp: 0,
      tauPhi: 1,
      tauY: 1,
      tauU: 1,
      tauPsi: 1,
      lr: 0.01,
      ...s.ctrl,
    },
    solver: { dt: s.dt ?? 0.2, tol: s.tol ?? 1e-7, maxSteps: s.maxSteps ?? 20_000, fused: false },
    x: tf.tensor2d([s.x]),
    target: tf.tensor2d([s.target]),
    loss: 'mse',
    sample: 0,
  };
}

export function disposeAll(input: AnalysisInput): void {
  tf.dispose([input.x, input.target]);
  for (const t of Object.values(input.net.params)) t?.dispose();
  for (const t of Object.values(input.net.masks)) t?.dispose();
}

/** W made symmetric: (W + Wᵀ)/2. */
export function symmetrised(W: number[][]): number[][] {
  return W.map((row, i) => row.map((v, j) => (v + W[j][i]) / 2));
}
