import { Rng } from '../../src/engine/rng';
import type { ControllerKind } from '../../src/engine/dynamics';

export interface RandomScenarioOptions {
  n: number;
  m?: number;
  k?: number;
  gain?: number;
  loss?: 'mse' | 'cross-entropy';
  kind?: ControllerKind;
  alpha?: number;
  seed: number;
  activation?: 'tanh' | 'sigmoid' | 'linear' | 'softplus';
  dt?: number;
  tol?: number;
  maxSteps?: number;
  tauU?: number;
  lr?: number;
}

function gaussianMatrix(rng: Rng, rows: number, cols: number, std: number): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => std * rng.normal()));
}

/** A random, stable scenario file (plain JSON object) for engine tests. */
export function randomScenario(o: RandomScenarioOptions) {
  const rng = new Rng(o.seed, 'test-scenario');
  const m = o.m ?? 3;
  const k = o.k ?? 2;
  const gain = o.gain ?? 0.8;
  const loss = o.loss ?? 'mse';
  return {
    model: {
      activation: o.activation ?? 'tanh',
      W: gaussianMatrix(rng, o.n, o.n, gain / Math.sqrt(o.n)),
      U: gaussianMatrix(rng, o.n, m, 1 / Math.sqrt(m)),
      b: Array.from({ length: o.n }, () => 0.1 * rng.normal()),
      D: gaussianMatrix(rng, k, o.n, 1 / Math.sqrt(o.n)),
      d: Array.from({ length: k }, () => 0.1 * rng.normal()),
      Q: gaussianMatrix(rng, o.n, k, 1 / Math.sqrt(k)),
    },
    loss,
    x: Array.from({ length: m }, () => rng.normal()),
    target: loss === 'mse' ? Array.from({ length: k }, () => rng.normal()) : rng.int(k),
    controller: {
      kind: o.kind ?? 'dynamic-inversion',
      alpha: o.alpha ?? 1,
      ki: 1,
      kp: 0,
      tauU: o.tauU ?? 1,
      lr: o.lr ?? 0.01,
    },
    solver: { dt: o.dt ?? 0.2, tol: o.tol ?? 1e-6, maxSteps: o.maxSteps ?? 100_000 },
  };
}
