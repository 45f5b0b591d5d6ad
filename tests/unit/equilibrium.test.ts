import { describe, expect, it } from 'vitest';
import { randomScenario } from '../support/randomScenario';
import { norm, relErr, solve } from '../support/solve';

const tanh = Math.tanh;
const matVec = (A: number[][], v: number[]) =>
  A.map((row) => row.reduce((s, a, j) => s + a * v[j], 0));
const add = (...vs: number[][]) => vs[0].map((_, i) => vs.reduce((s, v) => s + v[i], 0));

describe('equilibria satisfy their equations (float64 residuals of the float32 solve)', () => {
  for (const loss of ['mse', 'cross-entropy'] as const) {
    it(`free and DI-controlled residuals are tiny (${loss})`, async () => {
      const s = randomScenario({ n: 12, m: 3, k: 3, seed: 11, loss, alpha: 0.5, tol: 1e-7 });
      const out = await solve(s);
      const { W, U, b, D, d } = s.model;
      const r0 = out.free.phi.map(tanh);
      const freeRes = add(matVec(W, r0), matVec(U, s.x), b).map((v, i) => v - out.free.phi[i]);
      expect(norm(freeRes)).toBeLessThan(1e-5 * norm(out.free.phi));
      expect(relErr(out.free.y, add(matVec(D, r0), d))).toBeLessThan(1e-5);

      const c = out.controlled;
      const r = c.phi.map(tanh);
      const phiRes = add(matVec(W, r), matVec(U, s.x), b, c.psi).map((v, i) => v - c.phi[i]);
      expect(norm(phiRes)).toBeLessThan(1e-5 * norm(c.phi));
      expect(relErr(c.y, add(matVec(D, r), d, c.u))).toBeLessThan(1e-5);
      // ψ* = ρ'(φ*) ⊙ (Wᵀψ* + Dᵀu*), u* = −(1/α) ∂L/∂y at y*.
      const slope = c.phi.map((v) => 1 - tanh(v) ** 2);
      const WT = W[0].map((_, j) => W.map((row) => row[j]));
      const DT = D[0].map((_, j) => D.map((row) => row[j]));
      const psiFix = add(matVec(WT, c.psi), matVec(DT, c.u)).map((v, i) => slope[i] * v);
      expect(relErr(c.psi, psiFix)).toBeLessThan(1e-4);
      const grad =
        loss === 'mse'
          ? c.y.map((v, i) => v - (s.target as number[])[i])
          : softmax(c.y).map((p, i) => p - (i === s.target ? 1 : 0));
      expect(
        relErr(
          c.u,
          grad.map((g) => -g / s.controller.alpha),
        ),
      ).toBeLessThan(1e-4);
      expect(out.free.converged && c.converged).toBe(true);
    });
  }

  it('k_p > 0 adds proportional control: u* = −(k_i/α + k_p) ∂L/∂y', async () => {
    const s = randomScenario({ n: 8, seed: 5, alpha: 2, tol: 1e-7 });
    const kp = 0.5;
    const out = await solve({ ...s, controller: { ...s.controller, ki: 1.5, kp } });
    const c = out.controlled;
    const grad = c.y.map((v, i) => v - (s.target as number[])[i]);
    expect(
      relErr(
        c.u,
        grad.map((g) => -(1.5 / 2 + kp) * g),
      ),
    ).toBeLessThan(1e-4);
  });
});

function softmax(y: number[]): number[] {
  const m = Math.max(...y);
  const e = y.map((v) => Math.exp(v - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}
