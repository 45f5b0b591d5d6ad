/**
 * Output units inside the network (readout `units`, the seed poster's Figure 1): at small α the
 * controlled equilibrium reaches the target line φ_y = t, and the control ψ* is the least-norm
 * control found by an independent constrained solve.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/engine/config';
import { PRESETS } from '../../src/engine/presets';
import { Simulation } from '../../src/engine/simulation';
import { leastNormControl } from '../reference/leastControl';
import { relativeError } from '../reference/float64';
import { Rng } from '../reference/scenarios';
import { solve } from '../support/solve';

function randomUnitsScenario(n: number, k: number, seed: number, alpha: number) {
  const rng = new Rng(seed);
  const normal = () => rng.normal();
  const W = Array.from({ length: n }, () =>
    Array.from({ length: n }, () => (0.7 * normal()) / Math.sqrt(n)),
  );
  const U = Array.from({ length: n }, () => [normal()]);
  const b = Array.from({ length: n }, () => 0.2 * normal());
  const target = Array.from({ length: k }, () => 0.6 * normal());
  return {
    model: { activation: 'tanh', readout: 'units', W, U, b },
    loss: 'mse',
    x: [0.8],
    target,
    controller: { kind: 'dynamic-inversion', alpha, ki: 1, kp: 0, tauU: 10 },
    solver: { dt: 0.1, tol: 1e-9, maxSteps: 400_000 },
  };
}

describe('readout "units": output units inside the network', () => {
  for (const [n, k, seed] of [
    [2, 1, 3],
    [5, 2, 7],
    [8, 3, 11],
  ] as const) {
    it(`n = ${n}, k = ${k}: at α = 1e-3 the output reaches the target and ψ* is the least control`, async () => {
      const s = randomUnitsScenario(n, k, seed, 1e-3);
      const out = await solve(s);
      expect(out.controlled.converged).toBe(true);
      // y ≡ φ_y: the controlled output sits on the target set φ_y = t.
      const y = out.controlled.phi.slice(n - k);
      expect(out.controlled.y).toEqual(y);
      for (let i = 0; i < k; i++) expect(Math.abs(y[i] - s.target[i])).toBeLessThan(1e-2);
      // No readout population: no D, d in the update.
      expect(out.controlled.update.D).toBeUndefined();
      const drive = s.model.b.map((bi, i) => bi + s.model.U[i][0] * s.x[0]);
      const ref = leastNormControl(s.model.W, drive, 'tanh', s.target, out.free.phi);
      expect(ref.gradientNorm).toBeLessThan(1e-9);
      expect(relativeError(out.controlled.psi, ref.psi)).toBeLessThan(1e-2);
      expect(relativeError(out.controlled.phi, ref.phi)).toBeLessThan(1e-2);
      // ΔW = ψ* ρ(φ*)ᵀ for every unit, output units included.
      const r = out.controlled.phi.map(Math.tanh);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++)
          expect(out.controlled.update.W[i][j]).toBeCloseTo(out.controlled.psi[i] * r[j], 6);
    });
  }

  it('the least control is smaller than the control at any other point of the target line', async () => {
    const s = randomUnitsScenario(2, 1, 3, 1e-3);
    const out = await solve(s);
    const drive = s.model.b.map((bi, i) => bi + s.model.U[i][0] * s.x[0]);
    const psiAt = (phi0: number) => {
      const phi = [phi0, s.target[0]];
      return phi.map(
        (p, i) => p - s.model.W[i].reduce((a, w, j) => a + w * Math.tanh(phi[j]), 0) - drive[i],
      );
    };
    const half = (v: number[]) => 0.5 * v.reduce((a, x) => a + x * x, 0);
    const best = half(out.controlled.psi);
    for (const shift of [-0.5, -0.1, -0.02, 0.02, 0.1, 0.5])
      expect(half(psiAt(out.controlled.phi[0] + shift))).toBeGreaterThan(best);
  });

  it('RBP: −∇L matches central finite differences of L(φ⁰_y)', async () => {
    const s = randomUnitsScenario(4, 2, 5, 1);
    const out = await solve({ ...s, solver: { dt: 0.2, tol: 1e-10, maxSteps: 200_000 } });
    const loss = async (i: number, j: number, h: number) => {
      const W = s.model.W.map((row) => row.slice());
      W[i][j] += h;
      return (
        await solve({
          ...s,
          model: { ...s.model, W },
          solver: { dt: 0.2, tol: 1e-10, maxSteps: 200_000 },
        })
      ).free.loss;
    };
    for (const [i, j] of [
      [0, 1],
      [3, 2],
      [2, 3],
    ]) {
      const fd = -((await loss(i, j, 1e-2)) - (await loss(i, j, -1e-2))) / 2e-2;
      expect(Math.abs(out.free.gradient.W[i][j] - fd)).toBeLessThan(
        3e-3 * Math.max(Math.abs(fd), 1e-2),
      );
    }
  });

  it('the Figure 1 chapter: the controlled state lands on the target line', () => {
    const config = parseConfig({ ...PRESETS['figure-1'].config, alpha: 1e-3 });
    expect(config.readout).toBe('units');
    const sim = new Simulation(config);
    sim.setControl(true);
    sim.equilibrium();
    expect(sim.metrics.settled).toBe(true);
    const s = sim.read();
    expect(Math.abs(s.phi[sim.n - 1] - s.target[0])).toBeLessThan(1e-2);
    expect(s.y[0]).toBeCloseTo(s.phi[sim.n - 1], 6);
    sim.dispose();
  });
});
