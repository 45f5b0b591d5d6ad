import { describe, expect, it } from 'vitest';
import { inversionMatrix, type ReferenceScenario } from '../reference/float64';
import { randomScenario } from '../support/randomScenario';
import { norm, relErr, solve } from '../support/solve';

const transpose = (A: number[][]) => A[0].map((_, j) => A.map((row) => row[j]));

describe('the controllers agree where the theory says they must', () => {
  for (const [alpha, loss] of [
    [0.1, 'mse'],
    [1, 'cross-entropy'],
    [10, 'mse'],
  ] as const) {
    it(`energy minimiser = dynamic inversion's fixed point (α = ${alpha}, ${loss})`, async () => {
      for (const n of [5, 30]) {
        // dt = 0.1: at α = 0.1 the Euler discretisation of the strong control loop can cycle at 0.2.
        const s = randomScenario({
          n,
          seed: n + alpha,
          alpha,
          loss,
          tauU: Math.max(1, alpha),
          tol: 1e-8,
          dt: 0.1,
        });
        const di = await solve(s);
        expect(di.controlled.converged).toBe(true);
        // The exact minimiser needs the rate halved on plateaus (constant-rate Adam cycles).
        const en = await solve({
          ...s,
          controller: { ...s.controller, kind: 'energy', plateau: true },
          solver: { ...s.solver, maxSteps: 50_000 },
        });
        expect(en.controlled.converged).toBe(true);
        expect(relErr(en.controlled.psi, di.controlled.psi)).toBeLessThan(1e-3);
        expect(relErr(en.controlled.u, di.controlled.u)).toBeLessThan(1e-3);
        expect(relErr(en.controlled.phi, di.controlled.phi)).toBeLessThan(1e-4);
      }
    });
  }

  it('energy by default keeps Adam’s rate constant (the reference): near the minimiser, not on it; plateau halving reaches it', async () => {
    const s = randomScenario({
      n: 5,
      seed: 15,
      alpha: 10,
      loss: 'mse',
      tauU: 10,
      tol: 1e-8,
      dt: 0.1,
    });
    const di = await solve(s);
    const energy = (plateau: boolean | undefined, maxSteps: number) =>
      solve({
        ...s,
        controller: {
          ...s.controller,
          kind: 'energy',
          ...(plateau === undefined ? {} : { plateau }),
        },
        solver: { ...s.solver, maxSteps },
      });
    // Within PLATEAU_PATIENCE iterations no halving can happen: the same iterates.
    const [short, shortHalving] = [await energy(undefined, 100), await energy(true, 100)];
    expect(shortHalving.controlled.psi).toEqual(short.controlled.psi);
    const constant = await energy(undefined, 20_000);
    const halving = await energy(true, 20_000);
    // Constant rate: Adam ends in a limit cycle around the minimiser (never converges)…
    expect(constant.controlled.converged).toBe(false);
    const err = relErr(constant.controlled.psi, di.controlled.psi);
    expect(err).toBeLessThan(3e-2);
    expect(err).toBeGreaterThan(1e-3);
    expect(relErr(constant.controlled.phi, di.controlled.phi)).toBeLessThan(1e-3);
    // …that halving the rate shrinks onto it.
    expect(halving.controlled.converged).toBe(true);
    expect(relErr(halving.controlled.psi, di.controlled.psi)).toBeLessThan(1e-3);
  });

  it('linear feedback with Q = M(φ*) reaches dynamic inversion’s equilibrium', async () => {
    const s = randomScenario({ n: 10, seed: 21, alpha: 0.5, tol: 1e-8 });
    const di = await solve(s);
    const Q = inversionMatrix(s as ReferenceScenario, di.controlled.phi);
    const lf = await solve({
      ...s,
      model: { ...s.model, Q },
      controller: { ...s.controller, kind: 'linear-feedback' },
    });
    expect(relErr(lf.controlled.phi, di.controlled.phi)).toBeLessThan(1e-4);
    expect(relErr(lf.controlled.u, di.controlled.u)).toBeLessThan(1e-4);
    expect(relErr(lf.controlled.psi, di.controlled.psi)).toBeLessThan(1e-3);
    // A random Q does not: the comparison above can fail.
    const random = await solve({ ...s, controller: { ...s.controller, kind: 'linear-feedback' } });
    expect(relErr(random.controlled.psi, di.controlled.psi)).toBeGreaterThan(1e-2);
  });

  it('learned-feedback inversion with B = Wᵀ, F = Dᵀ is dynamic inversion', async () => {
    const s = randomScenario({ n: 12, seed: 8, alpha: 1, tol: 1e-8 });
    const di = await solve(s);
    const kp = await solve({
      ...s,
      model: { ...s.model, B: transpose(s.model.W), F: transpose(s.model.D) },
      controller: { ...s.controller, kind: 'dynamic-inversion-kp' },
    });
    expect(relErr(kp.controlled.psi, di.controlled.psi)).toBeLessThan(1e-5);
    expect(relErr(kp.controlled.update.W.flat(), di.controlled.update.W.flat())).toBeLessThan(1e-5);
  });
});

describe('learning with the LCP update', () => {
  it('repeated updates on one sample drive ½‖ψ*‖² + ½‖u*‖² below 1 % of its start', async () => {
    let s = randomScenario({ n: 8, m: 3, k: 2, seed: 2, alpha: 1, tol: 1e-7 });
    const control = (o: Awaited<ReturnType<typeof solve>>) =>
      0.5 * (norm(o.controlled.psi) ** 2 + norm(o.controlled.u) ** 2);
    const first = control(await solve(s));
    let last = first;
    const lr = 0.5;
    for (let it = 0; it < 60 && last > 0.01 * first; it++) {
      const out = await solve(s);
      last = control(out);
      const u = out.controlled.update;
      const step = (A: number[][], dA: number[][]) =>
        A.map((row, i) => row.map((v, j) => v + lr * dA[i][j]));
      s = {
        ...s,
        model: {
          ...s.model,
          W: step(s.model.W, u.W),
          U: step(s.model.U, u.U),
          b: s.model.b.map((v, i) => v + lr * u.b[i]),
          D: step(s.model.D!, u.D!),
          d: s.model.d!.map((v, i) => v + lr * u.d![i]),
        },
      };
    }
    expect(last).toBeLessThan(0.01 * first);
    // And the free network now solves the task by itself.
    const final = await solve(s);
    expect(final.free.loss).toBeLessThan(0.01);
  });
});
