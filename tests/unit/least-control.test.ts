/**
 * The least-control landscape of the phase portrait (src/engine/leastControl.ts), against the
 * engine on CPU: on Figure 1 at α = 1e-3 the minimum of ½‖ψ(φ)‖² along the target line is where
 * the controlled dynamics settle, and ψ there is the engine's ψ*; the landscape is ½‖τ_φ φ̇‖² of
 * the worker's flow field; a slice through more units holds the others.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/engine/config';
import {
  controlAt,
  controlGrid,
  driveOf,
  halfSquaredNorm,
  leastControlOnLine,
  linePoint,
  sliceControl,
  targetLine,
  type ControlProblem,
} from '../../src/engine/leastControl';
import { PRESETS } from '../../src/engine/presets';
import { Simulation } from '../../src/engine/simulation';
import { computeFlowField } from '../../src/worker/fields';

function problemOf(sim: Simulation): ControlProblem {
  const w = sim.readWeights();
  const x = sim.read().x;
  return {
    n: sim.n,
    W: w.W!.data,
    drive: driveOf(w.U!.data, w.b!.data, x, sim.n),
    activation: sim.config.activation,
  };
}

describe('the least control in the phase plane', () => {
  it('Figure 1 at α = 1e-3: ½‖ψ‖² along the target line is least at the controlled equilibrium, and ψ there is ψ*', () => {
    const sim = new Simulation(
      parseConfig({ ...PRESETS['figure-1'].config, alpha: 1e-3, tol: 1e-7, maxSteps: 60_000 }),
    );
    try {
      const free = Float64Array.from(sim.freePhi!);
      sim.setControl(true);
      sim.equilibrium();
      expect(sim.metrics.settled).toBe(true);
      const s = sim.read();
      const n = sim.n;
      const out = n - 1; // readout "units": the output is the last unit
      const t = s.target[0];
      const p = problemOf(sim);
      const psi = sliceControl(p, s.phi, 0, 1);
      const line = targetLine(0, 1, out, t)!;
      expect(line.fixed).toBe('j');
      // The plot range the portrait would show: free and controlled states with a margin.
      const lo = Math.min(-1, free[0], free[1], s.phi[0], s.phi[1]) - 0.25;
      const hi = Math.max(1, free[0], free[1], s.phi[0], s.phi[1]) + 0.25;
      // Sample the line densely and independently of the search's own scan.
      let best = NaN;
      let bestV = Infinity;
      for (let q = 0; q <= 4000; q++) {
        const a = lo + ((hi - lo) * q) / 4000;
        const phi = [a, t];
        const v = halfSquaredNorm(controlAt(p, phi));
        if (v < bestV) [best, bestV] = [a, v];
      }
      expect(Math.abs(best - s.phi[0])).toBeLessThan(0.01 * (hi - lo));
      // The search finds the same point, and its control is the engine's ψ* there.
      const star = leastControlOnLine(psi, line, [lo, hi]);
      expect(Math.abs(star.phi[0] - s.phi[0])).toBeLessThan(0.01 * (hi - lo));
      expect(Math.abs(s.phi[1] - t)).toBeLessThan(0.01 * (hi - lo));
      const psiAtStar = controlAt(p, s.phi);
      const scale = Math.hypot(...Array.from(s.psi));
      expect(scale).toBeGreaterThan(1e-3);
      for (let u = 0; u < n; u++)
        expect(Math.abs(psiAtStar[u] - s.psi[u])).toBeLessThan(0.01 * scale);
      // The least control on the line is the engine's (which sits a little off the line at α > 0),
      // and any other point of the line needs more.
      expect(Math.abs(star.half - halfSquaredNorm(s.psi))).toBeLessThan(0.01 * star.half);
      for (const shift of [-0.3, -0.05, 0.05, 0.3])
        expect(linePoint(psi, line, star.s + shift).half).toBeGreaterThan(star.half);
      // The free equilibrium needs no control at all (ψ(φ⁰) = 0).
      expect(halfSquaredNorm(controlAt(p, free))).toBeLessThan(1e-8);
    } finally {
      sim.dispose();
    }
  });

  it('½‖ψ(φ)‖² is ½‖τ_φ φ̇‖² of the flow field the worker sends (two units)', () => {
    const sim = new Simulation(parseConfig({ ...PRESETS['figure-1'].config, tauPhi: 2 }));
    try {
      const range: [number, number] = [-2, 1.5];
      const size = 21;
      const field = computeFlowField(sim, { i: 0, j: 1, range, size });
      const grid = controlGrid(problemOf(sim), sim.read().phi, 0, 1, range, size);
      let worst = 0;
      let top = 0;
      for (let q = 0; q < size * size; q++) {
        const fromField = 0.5 * 4 * (field.di[q] ** 2 + field.dj[q] ** 2);
        worst = Math.max(worst, Math.abs(fromField - grid[q]));
        top = Math.max(top, grid[q]);
      }
      expect(top).toBeGreaterThan(0.1);
      expect(worst).toBeLessThan(1e-5 * top);
    } finally {
      sim.dispose();
    }
  });

  it('a slice through more units holds the others: its ψ is the full ψ at that state', () => {
    const n = 5;
    const W = Array.from({ length: n * n }, (_, q) => Math.sin(3.1 * q + 0.4) * 0.6);
    const p: ControlProblem = {
      n,
      W,
      drive: driveOf([0.3, -0.2, 0.5, 0.1, -0.4], [0.05, 0.1, -0.1, 0, 0.2], [1.5], n),
      activation: 'tanh',
    };
    const held = [0.2, -0.7, 0.4, 1.1, -0.3];
    const psi = sliceControl(p, held, 1, 3);
    for (const [a, b] of [
      [0, 0],
      [-1.2, 0.8],
      [0.5, -2],
    ]) {
      const phi = held.slice();
      phi[1] = a;
      phi[3] = b;
      const full = controlAt(p, phi);
      const fast = psi(a, b);
      for (let u = 0; u < n; u++) expect(fast[u]).toBeCloseTo(full[u], 12);
    }
    // The line is the output's axis, or absent when the output is neither axis.
    expect(targetLine(1, 3, 3, 0.5)).toEqual({ fixed: 'j', t: 0.5 });
    expect(targetLine(1, 3, 1, 0.5)).toEqual({ fixed: 'i', t: 0.5 });
    expect(targetLine(1, 3, 4, 0.5)).toBeNull();
  });
});
