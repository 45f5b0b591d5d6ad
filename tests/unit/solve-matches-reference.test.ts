/**
 * The engine's `solve` (float32 tfjs, Euler integration) against the independent float64 reference
 * (Newton on the equilibrium equations, tests/reference/float64.ts) on generated scenarios.
 * Every array must agree to a norm-wise relative error ‖a − b‖ / max(‖b‖, 1e-12) ≤ 1e-3.
 */
import { describe, expect, it } from 'vitest';
import { parseScenario, solveScenario } from '../../src/engine/scenario';
import {
  PARAM_NAMES,
  referenceSolve,
  relativeError,
  type Matrix,
  type ReferenceScenario,
  type Vector,
} from '../reference/float64';
import {
  describeScenario,
  generateCheckedScenario,
  type ScenarioSpec,
} from '../reference/scenarios';

const TOLERANCE = 1e-3;

/**
 * tanh throughout; both losses, both kinds, α ∈ {0.1, 1, 10, 100}, recurrent / random-mask /
 * layered, n from 8 to 50, solver tol 1e-6 and 1e-7.
 */
const CASES: { seed: number; spec: ScenarioSpec }[] = [
  {
    seed: 1001,
    spec: {
      kind: 'dynamic-inversion',
      loss: 'mse',
      alpha: 0.1,
      topology: 'recurrent',
      n: 12,
      tol: 1e-7,
    },
  },
  {
    seed: 1002,
    spec: {
      kind: 'dynamic-inversion',
      loss: 'mse',
      alpha: 1,
      topology: 'recurrent',
      n: 30,
      tol: 1e-6,
    },
  },
  {
    seed: 1003,
    spec: {
      kind: 'dynamic-inversion',
      loss: 'cross-entropy',
      alpha: 10,
      topology: 'recurrent',
      n: 20,
      tol: 1e-7,
    },
  },
  {
    seed: 1004,
    spec: {
      kind: 'dynamic-inversion',
      loss: 'cross-entropy',
      alpha: 100,
      topology: 'random-mask',
      n: 25,
      tol: 1e-6,
    },
  },
  {
    seed: 1005,
    spec: {
      kind: 'dynamic-inversion',
      loss: 'mse',
      alpha: 100,
      topology: 'layered',
      layers: 3,
      n: 24,
      tol: 1e-7,
    },
  },
  {
    seed: 1006,
    spec: {
      kind: 'dynamic-inversion',
      loss: 'cross-entropy',
      alpha: 0.1,
      topology: 'layered',
      layers: 2,
      n: 16,
      tol: 1e-6,
    },
  },
  {
    seed: 1007,
    spec: {
      kind: 'dynamic-inversion',
      loss: 'mse',
      alpha: 10,
      topology: 'recurrent',
      n: 50,
      tol: 1e-6,
    },
  },
  {
    seed: 1008,
    spec: {
      kind: 'linear-feedback',
      loss: 'mse',
      alpha: 0.1,
      topology: 'recurrent',
      n: 20,
      tol: 1e-7,
    },
  },
  {
    seed: 1009,
    spec: {
      kind: 'linear-feedback',
      loss: 'cross-entropy',
      alpha: 1,
      topology: 'random-mask',
      n: 30,
      tol: 1e-6,
    },
  },
  {
    seed: 1010,
    spec: {
      kind: 'linear-feedback',
      loss: 'mse',
      alpha: 10,
      topology: 'layered',
      layers: 3,
      n: 18,
      tol: 1e-7,
    },
  },
  {
    seed: 1011,
    spec: {
      kind: 'linear-feedback',
      loss: 'cross-entropy',
      alpha: 100,
      topology: 'recurrent',
      n: 8,
      tol: 1e-6,
    },
  },
  {
    seed: 1012,
    spec: {
      kind: 'linear-feedback',
      loss: 'cross-entropy',
      alpha: 0.1,
      topology: 'recurrent',
      n: 45,
      tol: 1e-6,
    },
  },
];

const GENERATED = CASES.map(({ seed, spec }) =>
  generateCheckedScenario(seed, { activation: 'tanh', ...spec }),
);

/** Soft-asserts ‖actual − expected‖ / max(‖expected‖, 1e-12) ≤ TOLERANCE, naming the array. */
function expectClose(label: string, actual: Vector | Matrix, expected: Vector | Matrix): void {
  expect.soft(relativeError(actual, expected), label).toBeLessThanOrEqual(TOLERANCE);
}

/** A copy as it would be read from a scenario file (so that parsing cannot alias our arrays). */
function asJson(s: ReferenceScenario): unknown {
  return JSON.parse(JSON.stringify(s));
}

describe('solve matches the float64 reference', () => {
  it.each(GENERATED.map((g) => ({ name: describeScenario(g.info), scenario: g.scenario })))(
    '$name',
    async ({ scenario }) => {
      const ref = referenceSolve(scenario);
      const out = await solveScenario(parseScenario(asJson(scenario)));

      expect.soft(out.free.converged, 'free.converged').toBe(true);
      expect.soft(out.controlled.converged, 'controlled.converged').toBe(true);

      expectClose('free.phi', out.free.phi, ref.free.phi);
      expectClose('free.y', out.free.y, ref.free.y);
      expectClose('free.loss', [out.free.loss], [ref.free.loss]);
      for (const p of PARAM_NAMES) {
        expectClose(`free.gradient.${p}`, out.free.gradient[p]!, ref.free.gradient[p]);
      }

      expectClose('controlled.phi', out.controlled.phi, ref.controlled.phi);
      expectClose('controlled.y', out.controlled.y, ref.controlled.y);
      expectClose('controlled.psi', out.controlled.psi, ref.controlled.psi);
      expectClose('controlled.u', out.controlled.u, ref.controlled.u);
      for (const p of PARAM_NAMES) {
        expectClose(`controlled.update.${p}`, out.controlled.update[p]!, ref.controlled.update[p]);
      }
    },
  );
});
