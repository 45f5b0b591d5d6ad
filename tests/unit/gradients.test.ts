import { describe, expect, it } from 'vitest';
import { randomScenario } from '../support/randomScenario';
import { cos, flatParams, norm, relErr, solve } from '../support/solve';

/** L at the free equilibrium, from the engine, with one parameter entry moved by h. */
async function lossWith(
  s: ReturnType<typeof randomScenario>,
  param: 'W' | 'U' | 'D',
  i: number,
  j: number,
  h: number,
) {
  const model = structuredClone(s.model);
  model[param][i][j] += h;
  return (await solve({ ...s, model })).free.loss;
}

describe('−∇L by RBP', () => {
  it('matches central finite differences of the engine’s own free loss', async () => {
    const s = randomScenario({ n: 6, m: 2, k: 2, seed: 3, tol: 1e-9, gain: 0.9 });
    const out = await solve(s);
    const h = 1e-2;
    for (const [param, i, j] of [
      ['W', 0, 1],
      ['W', 4, 2],
      ['U', 3, 1],
      ['D', 1, 5],
    ] as const) {
      const fd =
        -((await lossWith(s, param, i, j, h)) - (await lossWith(s, param, i, j, -h))) / (2 * h);
      const g = out.free.gradient[param]![i][j];
      expect(Math.abs(g - fd)).toBeLessThan(2e-3 * Math.max(Math.abs(fd), 1e-2));
    }
  });
});

describe('α → ∞: (α/k_i)·ΔW_DI → −∇L', () => {
  for (const n of [5, 20, 50]) {
    it(`cosine ≥ 0.999 and norm ratio ≈ 1 at α = 1000 (n = ${n})`, async () => {
      for (const loss of ['mse', 'cross-entropy'] as const) {
        const s = randomScenario({ n, seed: 40 + n, alpha: 1000, tauU: 1000, loss });
        const out = await solve(s);
        const update = flatParams(out.controlled.update);
        const grad = flatParams(out.free.gradient);
        expect(cos(update, grad)).toBeGreaterThanOrEqual(0.999);
        expect(norm(update.map((v) => 1000 * v)) / norm(grad)).toBeCloseTo(1, 2);
      }
    });
  }

  it('the cosine grows towards 1 as α grows', async () => {
    const cosines: number[] = [];
    for (const alpha of [0.1, 1, 10, 100]) {
      const s = randomScenario({ n: 10, seed: 9, alpha, tauU: Math.max(1, alpha) });
      const out = await solve(s);
      cosines.push(cos(flatParams(out.controlled.update), flatParams(out.free.gradient)));
    }
    for (let i = 1; i < cosines.length; i++)
      expect(cosines[i]).toBeGreaterThan(cosines[i - 1] - 1e-6);
    expect(cosines[cosines.length - 1]).toBeGreaterThan(0.99);
  });
});

describe('layered networks', () => {
  it('RBP on a layered mask equals backpropagation layer by layer, and updates stay masked', async () => {
    const { layeredNetwork } = await import('../support/layered');
    const { s, bp } = await layeredNetwork([4, 5, 3], 2, 2, 17);
    const out = await solve(s);
    for (const name of ['W', 'U', 'b', 'D', 'd'] as const) {
      expect(relErr(flatOf(out.free.gradient[name]!), flatOf(bp[name]))).toBeLessThan(1e-4);
    }
    for (const [param, mask] of [
      ['W', s.model.mask],
      ['U', s.model.maskU],
      ['D', s.model.maskD],
    ] as const) {
      mask.forEach((row, i) =>
        row.forEach((m, j) => {
          if (m === 0) {
            expect(Math.abs(out.controlled.update[param]![i][j])).toBe(0);
            expect(Math.abs(out.free.gradient[param]![i][j])).toBe(0);
          }
        }),
      );
    }
  });
});

function flatOf(v: number[] | number[][]): number[] {
  return (v as (number | number[])[]).flat();
}
