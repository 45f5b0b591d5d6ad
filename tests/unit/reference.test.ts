/**
 * Tests of the float64 reference itself (tests/reference), independent of the engine: each check
 * compares two different computations, and the "sensitivity" cases show that the comparisons
 * reject a plausible mistake.
 */
import { describe, expect, it } from 'vitest';
import {
  ACTIVATIONS,
  PARAM_NAMES,
  controlledSystem,
  crossEntropyLoss,
  effectiveNetwork,
  finiteDifferenceGradient,
  freeSystem,
  inversionMatrix,
  lcpUpdate,
  leastControlObjective,
  mseLoss,
  negativeFiniteDifference,
  rbpGradient,
  referenceSolve,
  relativeError,
  solveControlled,
  solveFree,
  simulateEuler,
  solveLinear,
  transpose,
  type ActivationName,
  type Matrix,
  type NonlinearSystem,
  type ReferenceScenario,
  type Vector,
} from '../reference/float64';
import {
  ALPHAS,
  Rng,
  checkReachable,
  describeScenario,
  generateCheckedScenario,
  generateScenario,
  type ScenarioSpec,
} from '../reference/scenarios';

const ACTIVATION_NAMES: ActivationName[] = ['tanh', 'sigmoid', 'linear', 'softplus'];

/** Largest |entry| of a vector or matrix. */
function maxAbs(a: Vector | Matrix): number {
  return Math.max(0, ...(a as (number | number[])[]).flat().map(Math.abs));
}

/** Central-difference Jacobian of a system's residual. */
function numericJacobian(system: NonlinearSystem, z: Vector, h = 1e-6): Matrix {
  const columns = z.map((_, j) => {
    const plus = [...z];
    const minus = [...z];
    plus[j] += h;
    minus[j] -= h;
    const fp = system.residual(plus);
    const fm = system.residual(minus);
    return fp.map((v, i) => (v - fm[i]) / (2 * h));
  });
  return transpose(columns, z.length);
}

/** A small generated scenario that Euler reaches (n ≤ 10 keeps finite differences fast). */
function small(seed: number, spec: ScenarioSpec): ReferenceScenario {
  return generateCheckedScenario(seed, { n: 8, m: 3, k: 3, ...spec }).scenario;
}

// ─────────────────────── independent residuals (plain loops, masks inline) ───────────────────

function maskedEntry(A: Matrix, mask: Matrix | undefined, i: number, j: number): number {
  return mask ? A[i][j] * mask[i][j] : A[i][j];
}

/** −φ + (W⊙mask) ρ(φ) + (U⊙maskU) x + b + ψ, entry by entry. */
function hiddenResidual(s: ReferenceScenario, phi: Vector, psi: Vector): Vector {
  const { model } = s;
  const f = ACTIVATIONS[model.activation].f;
  return phi.map((p, i) => {
    let v = -p + model.b[i] + psi[i];
    for (let j = 0; j < phi.length; j++) v += maskedEntry(model.W, model.mask, i, j) * f(phi[j]);
    for (let j = 0; j < s.x.length; j++) v += maskedEntry(model.U, model.maskU, i, j) * s.x[j];
    return v;
  });
}

/** −y + (D⊙maskD) ρ(φ) + d + u, entry by entry. */
function outputResidual(s: ReferenceScenario, phi: Vector, y: Vector, u: Vector): Vector {
  const { model } = s;
  const f = ACTIVATIONS[model.activation].f;
  return y.map((yi, i) => {
    let v = -yi + model.d[i] + u[i];
    for (let j = 0; j < phi.length; j++) v += maskedEntry(model.D, model.maskD, i, j) * f(phi[j]);
    return v;
  });
}

// ─────────────────────────────────────────── tests ───────────────────────────────────────────

describe('linear algebra', () => {
  it('solves a random dense system to round-off', () => {
    const rng = new Rng(11);
    const A = rng.matrix(12, 12, 1);
    const z = rng.vector(12, 1);
    const rhs = A.map((row) => row.reduce((s, a, j) => s + a * z[j], 0));
    expect(relativeError(solveLinear(A, rhs), z)).toBeLessThan(1e-12);
  });

  it('pivots (a zero leading entry) and rejects a singular matrix', () => {
    expect(
      solveLinear(
        [
          [0, 1],
          [1, 0],
        ],
        [2, 3],
      ),
    ).toEqual([3, 2]);
    expect(() =>
      solveLinear(
        [
          [1, 2],
          [2, 4],
        ],
        [1, 1],
      ),
    ).toThrow(/singular/);
  });
});

describe('activations and losses', () => {
  const points = [-2.5, -1, -0.3, 0, 0.4, 1.2, 3];
  const h = 1e-5;

  it.each(ACTIVATION_NAMES)('%s: ρ′ and ρ″ match central differences', (name) => {
    const a = ACTIVATIONS[name];
    for (const v of points) {
      expect(a.df(v)).toBeCloseTo((a.f(v + h) - a.f(v - h)) / (2 * h), 9);
      expect(a.d2f(v)).toBeCloseTo((a.df(v + h) - a.df(v - h)) / (2 * h), 9);
    }
  });

  it('softplus and sigmoid are stable for large |v|', () => {
    expect(ACTIVATIONS.softplus.f(800)).toBe(800);
    expect(ACTIVATIONS.softplus.f(-800)).toBe(0);
    expect(ACTIVATIONS.sigmoid.f(-800)).toBe(0);
  });

  it.each([
    ['mse', mseLoss([0.3, -1, 2])],
    ['cross-entropy', crossEntropyLoss(1)],
  ] as const)('%s: gradient and Hessian match central differences', (_, loss) => {
    const y = [0.5, -0.2, 1.7];
    const grad = loss.gradient(y);
    const hess = loss.hessian(y);
    y.forEach((_, j) => {
      const plus = y.map((v, i) => (i === j ? v + h : v));
      const minus = y.map((v, i) => (i === j ? v - h : v));
      expect(grad[j]).toBeCloseTo((loss.value(plus) - loss.value(minus)) / (2 * h), 9);
      const gp = loss.gradient(plus);
      const gm = loss.gradient(minus);
      y.forEach((__, i) => expect(hess[i][j]).toBeCloseTo((gp[i] - gm[i]) / (2 * h), 9));
    });
  });

  it('cross-entropy is −log softmax of the class', () => {
    const y = [0.5, -0.2, 1.7];
    const p1 = Math.exp(-0.2) / y.reduce((s, v) => s + Math.exp(v), 0);
    expect(crossEntropyLoss(1).value(y)).toBeCloseTo(-Math.log(p1), 14);
  });
});

describe('Newton systems', () => {
  const kinds = ['dynamic-inversion', 'linear-feedback', 'dynamic-inversion-kp', 'energy'] as const;
  const cases = kinds.flatMap((kind) =>
    (['tanh', 'sigmoid', 'softplus'] as const).map((activation) => ({ kind, activation })),
  );

  it.each(cases)(
    'analytic Jacobian of the controlled system = finite differences ($kind, $activation)',
    ({ kind, activation }) => {
      const s = generateScenario(5, {
        n: 6,
        m: 2,
        k: 3,
        activation,
        topology: 'random-mask',
        kind: 'linear-feedback',
        alpha: 0.5,
      }).scenario;
      const rng = new Rng(99);
      s.controller.kind = kind;
      s.controller.kp = 0.3;
      s.loss = activation === 'sigmoid' ? 'cross-entropy' : 'mse';
      s.target = s.loss === 'mse' ? [0.1, 0.2, -0.3] : 2;
      s.model.B = rng.matrix(6, 6, 0.4);
      s.model.F = rng.matrix(6, 3, 0.4);
      const system = controlledSystem(s);
      const z = rng.vector(15, 0.7);
      const J = system.jacobian(z);
      expect(relativeError(J, numericJacobian(system, z))).toBeLessThan(1e-8);
    },
  );

  it('analytic Jacobian of the free system = finite differences', () => {
    const s = generateScenario(6, { n: 7, topology: 'layered', layers: 3 }).scenario;
    const system = freeSystem(effectiveNetwork(s));
    const z = new Rng(3).vector(7, 1);
    expect(relativeError(system.jacobian(z), numericJacobian(system, z))).toBeLessThan(1e-8);
  });

  it('throws when there is no equilibrium (linear, W = I: φ = φ + Ux + b)', () => {
    const s = generateScenario(7, { n: 5, activation: 'linear', topology: 'recurrent' }).scenario;
    s.model.W = s.model.W.map((row, i) => row.map((_, j) => (i === j ? 1 : 0)));
    expect(() => solveFree(s)).toThrow();
  });
});

describe('equilibrium residuals (recomputed independently)', () => {
  const specs: ScenarioSpec[] = [
    { kind: 'dynamic-inversion', loss: 'mse', alpha: 0.1, topology: 'recurrent' },
    { kind: 'dynamic-inversion', loss: 'cross-entropy', alpha: 10, topology: 'layered' },
    { kind: 'linear-feedback', loss: 'mse', alpha: 1, topology: 'random-mask' },
    {
      kind: 'linear-feedback',
      loss: 'cross-entropy',
      alpha: 100,
      topology: 'recurrent',
      activation: 'softplus',
    },
    {
      kind: 'dynamic-inversion',
      loss: 'mse',
      alpha: 1,
      topology: 'recurrent',
      activation: 'sigmoid',
      n: 40,
    },
  ];

  it.each(specs.map((spec, i) => ({ spec, seed: 100 + i })))(
    '$spec.kind $spec.loss α=$spec.alpha $spec.topology',
    ({ spec, seed }) => {
      const s = generateCheckedScenario(seed, spec).scenario;
      const { free, controlled } = referenceSolve(s);
      const tol = 1e-11;
      const zeroPsi = free.phi.map(() => 0);
      expect(maxAbs(hiddenResidual(s, free.phi, zeroPsi))).toBeLessThan(tol);
      expect(
        maxAbs(
          outputResidual(
            s,
            free.phi,
            free.y,
            free.y.map(() => 0),
          ),
        ),
      ).toBeLessThan(tol);

      const { phi, y, psi, u } = controlled;
      expect(maxAbs(hiddenResidual(s, phi, psi))).toBeLessThan(tol);
      expect(maxAbs(outputResidual(s, phi, y, u))).toBeLessThan(tol);
      // u* = −(k_i/α + k_p) ∂L/∂y(y*), the integrator at rest.
      const g =
        s.loss === 'mse'
          ? mseLoss(s.target as number[]).gradient(y)
          : crossEntropyLoss(s.target as number).gradient(y);
      const c = s.controller.ki / s.controller.alpha + s.controller.kp;
      expect(
        relativeError(
          u,
          g.map((v) => -c * v),
        ),
      ).toBeLessThan(1e-12);
      // ψ* by a separate route: DI: M(φ*) u* (one linear solve per column); LF: Q u*.
      const feedback =
        s.controller.kind === 'linear-feedback' ? (s.model.Q as Matrix) : inversionMatrix(s, phi);
      const expected = feedback.map((row) => row.reduce((acc, q, j) => acc + q * u[j], 0));
      expect(relativeError(psi, expected)).toBeLessThan(1e-10);
      // Control moves the output towards the target.
      expect(controlled.loss).toBeLessThan(free.loss);
    },
  );
});

describe('Newton agrees with float64 Euler integration of the dynamics from zero', () => {
  const cases = [
    {
      name: 'DI, k_i = 2, k_p = 0.5, τ_u = 3',
      spec: { kind: 'dynamic-inversion', loss: 'mse', alpha: 1 },
      ki: 2,
      kp: 0.5,
      tauU: 3,
    },
    {
      name: 'LF, k_i = 1, k_p = 0.3, cross-entropy',
      spec: { kind: 'linear-feedback', loss: 'cross-entropy', alpha: 10 },
      ki: 1,
      kp: 0.3,
      tauU: 10,
    },
    {
      name: 'DI layered, α = 0.1',
      spec: { kind: 'dynamic-inversion', loss: 'cross-entropy', alpha: 0.1, topology: 'layered' },
      ki: 1,
      kp: 0,
      tauU: 1,
    },
  ] satisfies { name: string; spec: ScenarioSpec; ki: number; kp: number; tauU: number }[];

  it.each(cases)('$name', ({ spec, ki, kp, tauU }) => {
    const s = generateScenario(500, {
      n: 10,
      m: 3,
      k: 3,
      topology: 'recurrent',
      gain: 0.5,
      ...spec,
    }).scenario;
    s.controller = { ...s.controller, ki, kp, tauU, tauPsi: 0.5 };
    const { free, controlled } = referenceSolve(s);
    const eulerFree = simulateEuler(s, false, 50000, 1e-12);
    const eulerCtl = simulateEuler(s, true, 50000, 1e-12);
    expect(eulerFree.converged && eulerCtl.converged).toBe(true);
    expect(relativeError(eulerFree.phi, free.phi)).toBeLessThan(1e-9);
    expect(relativeError(eulerFree.y, free.y)).toBeLessThan(1e-9);
    for (const key of ['phi', 'y', 'psi', 'u'] as const) {
      expect(relativeError(eulerCtl[key], controlled[key]), key).toBeLessThan(1e-8);
    }
  });
});

/**
 * Back-propagation layer by layer through a layered net (U feeds h₁, W_{ℓ+1,ℓ} maps h_ℓ → h_ℓ₊₁,
 * D reads h_L): forward φ₁ = U₁x + b₁, φ_ℓ₊₁ = W_{ℓ+1,ℓ} ρ(φ_ℓ) + b_ℓ₊₁; backward
 * δ_L = ρ′(φ_L) ⊙ D_Lᵀ g, δ_ℓ = ρ′(φ_ℓ) ⊙ W_{ℓ+1,ℓ}ᵀ δ_ℓ₊₁. Returns −∇W and −∇b.
 */
function layeredBackprop(s: ReferenceScenario, blocks: number[]): { W: Matrix; b: Vector } {
  const { W, U, b, D, d, activation } = s.model;
  const act = ACTIVATIONS[activation];
  const starts = blocks.map((_, l) => blocks.slice(0, l).reduce((a, v) => a + v, 0));
  const units = blocks.map((size, l) => Array.from({ length: size }, (_, i) => starts[l] + i));
  const phi: number[] = new Array<number>(b.length).fill(0);
  units[0].forEach((i) => (phi[i] = b[i] + s.x.reduce((acc, xj, j) => acc + U[i][j] * xj, 0)));
  for (let l = 1; l < blocks.length; l++) {
    units[l].forEach(
      (i) => (phi[i] = b[i] + units[l - 1].reduce((acc, j) => acc + W[i][j] * act.f(phi[j]), 0)),
    );
  }
  const last = units[blocks.length - 1];
  const y = d.map((dk, o) => dk + last.reduce((acc, j) => acc + D[o][j] * act.f(phi[j]), 0));
  const g =
    s.loss === 'mse'
      ? mseLoss(s.target as number[]).gradient(y)
      : crossEntropyLoss(s.target as number).gradient(y);
  const delta: number[] = new Array<number>(b.length).fill(0);
  last.forEach(
    (i) => (delta[i] = act.df(phi[i]) * D.reduce((acc, row, o) => acc + row[i] * g[o], 0)),
  );
  for (let l = blocks.length - 2; l >= 0; l--) {
    units[l].forEach(
      (j) =>
        (delta[j] = act.df(phi[j]) * units[l + 1].reduce((acc, i) => acc + W[i][j] * delta[i], 0)),
    );
  }
  const gradW = W.map((row, i) =>
    row.map((_, j) => (s.model.mask?.[i][j] ? -delta[i] * act.f(phi[j]) : 0)),
  );
  return { W: gradW, b: delta.map((v) => -v) };
}

describe('RBP gradient = −∇L by finite differences', () => {
  const specs: ScenarioSpec[] = [
    { topology: 'recurrent', loss: 'mse', activation: 'tanh' },
    { topology: 'random-mask', loss: 'cross-entropy', activation: 'sigmoid' },
    { topology: 'layered', layers: 3, loss: 'mse', activation: 'softplus', n: 9 },
    { topology: 'recurrent', loss: 'cross-entropy', activation: 'linear', gain: 0.5 },
  ];

  it.each(specs.map((spec, i) => ({ spec, seed: 200 + i })))(
    '$spec.topology $spec.loss $spec.activation',
    ({ spec, seed }) => {
      const s = small(seed, spec);
      const rbp = rbpGradient(s);
      for (const p of PARAM_NAMES) {
        const fd = finiteDifferenceGradient(s, p);
        expect(relativeError(rbp[p], fd), p).toBeLessThan(1e-6);
      }
    },
  );

  it('layered nets: RBP = back-propagation layer by layer', () => {
    const { scenario, info } = generateScenario(212, {
      n: 12,
      topology: 'layered',
      layers: 4,
      loss: 'cross-entropy',
    });
    const bp = layeredBackprop(scenario, info.blocks);
    const rbp = rbpGradient(scenario);
    expect(relativeError(rbp.W, bp.W)).toBeLessThan(1e-12);
    expect(relativeError(rbp.b, bp.b)).toBeLessThan(1e-12);
  });

  it('gradients are zero outside the masks (layered)', () => {
    const s = small(210, { topology: 'layered', layers: 2 });
    const g = rbpGradient(s);
    const outside = (A: Matrix, mask: Matrix | undefined) =>
      maxAbs(A.map((row, i) => row.map((v, j) => (mask?.[i][j] === 0 ? v : 0))));
    expect(outside(g.W, s.model.mask)).toBe(0);
    expect(outside(g.U, s.model.maskU)).toBe(0);
    expect(outside(g.D, s.model.maskD)).toBe(0);
    expect(maxAbs(g.W)).toBeGreaterThan(0);
  });

  it('sensitivity: an adjoint with W in place of Wᵀ is rejected', () => {
    const s = small(211, { topology: 'recurrent', loss: 'mse' });
    const free = solveFree(s);
    const net = effectiveNetwork(s);
    const r1 = free.phi.map(ACTIVATIONS.tanh.df);
    const g = mseLoss(s.target as number[]).gradient(free.y);
    const rhs = r1.map((ri, i) => ri * net.D.reduce((acc, row, o) => acc + row[i] * g[o], 0));
    const wrongLhs = net.W.map((row, i) => row.map((w, j) => (i === j ? 1 : 0) - r1[i] * w));
    const wrongDelta = solveLinear(wrongLhs, rhs);
    const rates = free.phi.map(ACTIVATIONS.tanh.f);
    const wrongW = wrongDelta.map((di) => rates.map((rj) => -di * rj));
    expect(relativeError(wrongW, finiteDifferenceGradient(s, 'W'))).toBeGreaterThan(1e-2);
  });
});

describe('DI update = −∇ of the least-control objective (finite differences)', () => {
  const specs: ScenarioSpec[] = [
    { alpha: 0.1, loss: 'mse', topology: 'recurrent' },
    { alpha: 1, loss: 'cross-entropy', topology: 'layered', layers: 2 },
    { alpha: 10, loss: 'mse', topology: 'random-mask', activation: 'softplus' },
  ];

  it.each(specs.map((spec, i) => ({ spec, seed: 300 + i })))(
    'α=$spec.alpha $spec.loss $spec.topology',
    ({ spec, seed }) => {
      const s = small(seed, { ...spec, kind: 'dynamic-inversion' });
      const update = lcpUpdate(s, solveControlled(s));
      for (const p of PARAM_NAMES) {
        const fd = negativeFiniteDifference(s, p, leastControlObjective);
        expect(relativeError(update[p], fd), p).toBeLessThan(1e-6);
      }
    },
  );

  it('sensitivity: the linear-feedback hidden factor ρ′(φ*) ⊙ ψ* is rejected for DI', () => {
    const s = small(310, { alpha: 1, kind: 'dynamic-inversion', loss: 'mse' });
    const eq = solveControlled(s);
    const lfStyle = lcpUpdate(
      { ...s, controller: { ...s.controller, kind: 'linear-feedback' } },
      eq,
    );
    expect(
      relativeError(lfStyle.W, negativeFiniteDifference(s, 'W', leastControlObjective)),
    ).toBeGreaterThan(1e-2);
  });

  it('refuses k_i ≠ 1 (the objective is defined for k_i = 1, k_p = 0)', () => {
    const s = small(311, { kind: 'dynamic-inversion' });
    s.controller.ki = 2;
    expect(() => leastControlObjective(s)).toThrow(/k_i/);
  });
});

describe('LCP update definition', () => {
  it('linear feedback: ΔW = (ρ′(φ*) ⊙ ψ*) ρ(φ*)ᵀ, Δb = ρ′(φ*) ⊙ ψ*, ΔD = u* ρ(φ*)ᵀ, masked', () => {
    const s = small(320, {
      kind: 'linear-feedback',
      topology: 'random-mask',
      activation: 'sigmoid',
    });
    const eq = solveControlled(s);
    const update = lcpUpdate(s, eq);
    const act = ACTIVATIONS.sigmoid;
    const h = eq.psi.map((p, i) => act.df(eq.phi[i]) * p);
    const r = eq.phi.map(act.f);
    expect(relativeError(update.b, h)).toBeLessThan(1e-15);
    expect(
      relativeError(
        update.W,
        h.map((hi, i) => r.map((rj, j) => hi * rj * (s.model.mask as Matrix)[i][j])),
      ),
    ).toBeLessThan(1e-15);
    expect(
      relativeError(
        update.D,
        eq.u.map((ui) => r.map((rj) => ui * rj)),
      ),
    ).toBeLessThan(1e-15);
    expect(update.d).toEqual(eq.u);
  });
});

describe('identities between controllers', () => {
  it('linear feedback with Q = M(φ*_DI) reaches the DI equilibrium', () => {
    const s = small(400, {
      kind: 'dynamic-inversion',
      alpha: 0.1,
      loss: 'mse',
      topology: 'random-mask',
    });
    const di = solveControlled(s);
    const lfScenario: ReferenceScenario = {
      ...s,
      model: { ...s.model, Q: inversionMatrix(s, di.phi) },
      controller: { ...s.controller, kind: 'linear-feedback' },
    };
    const lf = solveControlled(lfScenario);
    for (const key of ['phi', 'y', 'psi', 'u'] as const) {
      expect(relativeError(lf[key], di[key]), key).toBeLessThan(1e-9);
    }
  });

  it('dynamic-inversion-kp with B = Wᵀ, F = (D⊙maskD)ᵀ equals dynamic inversion', () => {
    const s = small(401, {
      kind: 'dynamic-inversion',
      alpha: 1,
      loss: 'cross-entropy',
      topology: 'layered',
    });
    const net = effectiveNetwork(s);
    const kp: ReferenceScenario = {
      ...s,
      model: { ...s.model, B: transpose(s.model.W), F: transpose(net.D, net.n) },
      controller: { ...s.controller, kind: 'dynamic-inversion-kp' },
    };
    const a = solveControlled(s);
    const b = solveControlled(kp);
    for (const key of ['phi', 'y', 'psi', 'u'] as const) {
      expect(relativeError(b[key], a[key]), key).toBeLessThan(1e-10);
    }
  });

  it("energy with α equals dynamic inversion with α' = α·k_i and gain k_i", () => {
    const s = small(402, { kind: 'dynamic-inversion', alpha: 1, loss: 'mse' });
    const di = solveControlled({ ...s, controller: { ...s.controller, ki: 2, alpha: 2 } });
    const energy = solveControlled({
      ...s,
      controller: { ...s.controller, kind: 'energy', alpha: 1 },
    });
    expect(relativeError(energy.psi, di.psi)).toBeLessThan(1e-10);
  });

  it('α → ∞: α·ΔW_DI → −∇W L (error shrinking like 1/α)', () => {
    const s = small(403, {
      kind: 'dynamic-inversion',
      loss: 'cross-entropy',
      topology: 'recurrent',
    });
    const grad = rbpGradient(s);
    const errorAt = (alpha: number) => {
      const sa = { ...s, controller: { ...s.controller, alpha } };
      const update = lcpUpdate(sa, solveControlled(sa));
      return relativeError(
        update.W.map((row) => row.map((v) => alpha * v)),
        grad.W,
      );
    };
    const e2 = errorAt(1e2);
    const e4 = errorAt(1e4);
    expect(e4).toBeLessThan(1e-3);
    expect(e4).toBeLessThan(e2 / 50);
  });
});

describe('scenario generator', () => {
  it('is deterministic per seed', () => {
    expect(generateScenario(17)).toEqual(generateScenario(17));
    expect(generateScenario(17).scenario.model.W).not.toEqual(
      generateScenario(18).scenario.model.W,
    );
  });

  it('draws N(0, 1) normals', () => {
    const rng = new Rng(1);
    const v = rng.vector(100000, 1);
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    const variance = v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
  });

  it('spans sizes, losses, kinds, α and topologies over seeds', () => {
    const infos = Array.from({ length: 80 }, (_, i) => generateScenario(i + 1).info);
    expect(new Set(infos.map((i) => i.loss)).size).toBe(2);
    expect(new Set(infos.map((i) => i.kind)).size).toBe(2);
    expect(new Set(infos.map((i) => i.topology)).size).toBe(3);
    expect(new Set(infos.map((i) => i.alpha))).toEqual(new Set(ALPHAS));
    expect(Math.min(...infos.map((i) => i.n))).toBeGreaterThanOrEqual(5);
    expect(Math.max(...infos.map((i) => i.n))).toBeLessThanOrEqual(50);
    for (const info of infos) {
      expect(info.blocks.reduce((a, b) => a + b, 0)).toBe(info.n);
    }
  });

  it('layered masks keep only h_ℓ → h_ℓ₊₁, U → h₁ and h_L → D', () => {
    const { scenario, info } = generateScenario(21, { n: 9, topology: 'layered', layers: 3 });
    const layer = info.blocks.flatMap((size, l) => new Array<number>(size).fill(l));
    const { mask, maskU, maskD } = scenario.model;
    expect(
      mask?.every((row, i) => row.every((v, j) => v === (layer[i] === layer[j] + 1 ? 1 : 0))),
    ).toBe(true);
    expect(maskU?.every((row, i) => row.every((v) => v === (layer[i] === 0 ? 1 : 0)))).toBe(true);
    expect(maskD?.every((row) => row.every((v, j) => v === (layer[j] === 2 ? 1 : 0)))).toBe(true);
  });

  it('sets τ_u = α for α > 1 and includes Q only for linear feedback', () => {
    const lf = generateScenario(1, { kind: 'linear-feedback', alpha: 100, k: 4, n: 10 }).scenario;
    expect(lf.controller.tauU).toBe(100);
    expect(lf.model.Q?.length).toBe(10);
    expect(lf.model.Q?.[0].length).toBe(4);
    const di = generateScenario(1, { kind: 'dynamic-inversion', alpha: 0.1 }).scenario;
    expect(di.controller.tauU).toBe(1);
    expect(di.model.Q).toBeUndefined();
  });

  it('the reachability check rejects a scenario whose controlled Euler dynamics oscillate', () => {
    // Seed 39 draws a layered[2,2,2] DI network whose controlled equilibrium is unstable.
    const { scenario, info } = generateScenario(39);
    expect(describeScenario(info)).toContain('layered[2,2,2]');
    expect(checkReachable(scenario)).toMatch(/did not converge/);
  });
});
