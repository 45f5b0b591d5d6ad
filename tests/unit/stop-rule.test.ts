/**
 * A stopping rule float32 can reach (issue 9, item 9). At dt = 1 on a 16-unit net (dynamic
 * inversion, α = 6.4, τ_u = 64) with a target close to the free output, ‖ψ‖ ≈ 4e-5 and the
 * float32 state ends in a cycle in which ψ and u_I change by ≈ 1e-5 of their norm every step (the
 * rounding of y, ≈ 1e-8, enters them through ∂L/∂y): a rule relative to each block's own norm
 * never settles. With the float32 floors of kernels/spec.ts's residualOf the solve converges, in
 * every implementation of the rule, within 1e-5 of the float64 answer.
 */
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { zeroState } from '../../src/engine/dynamics';
import { residualOf } from '../../src/engine/kernels';
import { networkFromArrays, disposeNetwork } from '../../src/engine/model';
import { presentation, disposeState } from '../../src/engine/dynamics';
import { Rng } from '../../src/engine/rng';
import { parseScenario, solveScenario } from '../../src/engine/scenario';
import { relax } from '../../src/engine/solver';
import { selectBackend, tf } from '../../src/engine/tf';
import { referenceSolve, type ReferenceScenario } from '../reference/float64';
import { randomScenario } from '../support/randomScenario';

/** Seed 1 of the random scenarios, its target moved to 1e-3 from the free output. */
async function nearTargetScenario() {
  await selectBackend('cpu');
  const raw = randomScenario({
    n: 16,
    k: 2,
    seed: 1,
    kind: 'dynamic-inversion',
    alpha: 6.4,
    tauU: 64,
    dt: 1,
    tol: 1e-6,
    maxSteps: 20_000,
  });
  const free = await solveScenario(parseScenario(raw));
  const rng = new Rng(1, 'near-target');
  raw.target = free.free.y.map((v) => v + 1e-3 * rng.normal());
  return raw;
}

function maxAbsDiff(a: number[], b: number[]): number {
  return Math.max(...a.map((v, i) => Math.abs(v - b[i])));
}

afterAll(async () => {
  await selectBackend('cpu');
});

describe('the stopping rule settles at float32 resolution', () => {
  it('solve converges near the target, within 1e-5 of the float64 equilibrium', async () => {
    const raw = await nearTargetScenario();
    const out = await solveScenario(parseScenario(raw));
    // Before the float32 floors: 20,000 steps and "converged": false.
    expect(out.controlled.converged).toBe(true);
    expect(out.controlled.steps).toBeLessThan(2000);
    // The rule's raw residual (floors not subtracted) is what float32 could reach: above tol.
    expect(out.controlled.residual).toBeGreaterThan(0);
    expect(out.controlled.residual).toBeLessThan(1e-4);
    const ref = referenceSolve(raw as unknown as ReferenceScenario);
    expect(maxAbsDiff(out.controlled.phi, ref.controlled.phi)).toBeLessThan(1e-5);
    expect(maxAbsDiff(out.controlled.psi, ref.controlled.psi)).toBeLessThan(1e-5);
    expect(maxAbsDiff(out.controlled.u, ref.controlled.u)).toBeLessThan(1e-5);
  });

  it.each(['cpu', 'wasm'] as const)(
    'the fused kernel and the unfused loop on %s stop together',
    async (backend) => {
      const raw = await nearTargetScenario();
      await selectBackend(backend);
      const m = raw.model;
      const net = networkFromArrays({ ...m, activation: 'tanh' });
      const x = tf.tensor2d([raw.x]);
      const target = tf.tensor2d([raw.target as number[]]);
      const p = presentation(net, x, target, 'mse');
      const ctrl = {
        kind: 'dynamic-inversion' as const,
        alpha: 6.4,
        ki: 1,
        kp: 0,
        tauPhi: 1,
        tauY: 1,
        tauU: 64,
        tauPsi: 1,
        lr: 0.01,
      };
      const solver = { dt: 1, tol: 1e-6, maxSteps: 20_000 };
      try {
        const runs = [true, false].map((fused) => {
          const r = relax(net, ctrl, { ...solver, fused }, p, zeroState(1, 16, 2), true);
          const steps = r.steps;
          const converged = r.converged;
          disposeState(r.state);
          return { steps, converged };
        });
        for (const r of runs) {
          expect(r.converged).toBe(true);
          expect(r.steps).toBeLessThan(2000);
        }
        expect(Math.abs(runs[0].steps - runs[1].steps)).toBeLessThanOrEqual(1);
      } finally {
        tf.dispose([x, target, p.drive]);
        disposeNetwork(net);
      }
    },
  );

  it('residualOf: floors follow the state, not a fixed absolute', () => {
    // φ large and settled to its own resolution; u_I small, moving by y's resolution × dt/τ_u.
    const eps = 2 ** -23;
    const sums = (dPhi: number, dUI: number) => [
      dPhi ** 2,
      9, // ‖φ‖ = 3
      0,
      0.25, // ‖y‖ = 0.5
      dUI ** 2,
      1e-8, // ‖u_I‖ = 1e-4
      0,
      0,
    ];
    const coef = [1, 1, 1 / 64, 1];
    const sizes = [16, 2, 2, 16];
    // Within resolution: u_I moves by 5e-10 (< ε·3/64 ≈ 6e-9) and φ by 2ε·3.
    const settled = residualOf(sums(2 * eps * 3, 5e-10), 0, sizes, 1, coef);
    expect(settled.residual).toBeLessThanOrEqual(1e-6);
    expect(settled.raw).toBeGreaterThan(1e-6);
    // A real change of u_I (1e-8, above its floor) is still seen.
    const moving = residualOf(sums(0, 1e-8), 0, sizes, 1, coef);
    expect(moving.residual).toBeGreaterThan(1e-5);
    // A unit block alone: a change of 1e-9 is below its resolution, one of 1e-5 is not.
    const unit = residualOf([1e-18, 1, 0, 0, 0, 0, 0, 0], 0, sizes, 1, [1, 1, 1, 1]);
    expect(unit.residual).toBe(0);
    const unitMoving = residualOf([1e-10, 1, 0, 0, 0, 0, 0, 0], 0, sizes, 1, [1, 1, 1, 1]);
    expect(unitMoving.residual).toBeGreaterThan(9e-6);
  });
});
