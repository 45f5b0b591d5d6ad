/**
 * The α sweep (engine/alphaSweep.ts): (α/k_i)·ΔW → −∇L as α grows (cosine and norm ratio → 1),
 * ‖y* − t‖/‖y⁰ − t‖ → 0 as α → 0, extreme α never throws, Stop frees everything, and one point
 * checked against central finite differences of the free loss L.
 */
import { describe, expect, it } from 'vitest';
import {
  alphaPointSliced,
  alphaSweepSliced,
  disposeFree,
  freeAndGradientSliced,
  gradientScale,
  sweepTauU,
} from '../../src/engine/alphaSweep';
import { NETWORK_PARAMS } from '../../src/engine/model';
import { drain } from '../../src/engine/sliced';
import { tf } from '../../src/engine/tf';
import { disposeAll, inputOf, type PlainSample } from '../support/analysisInput';
import { randomScenario } from '../support/randomScenario';
import { solve } from '../support/solve';

/** A random separate-readout net (n = 6, m = 3, k = 2) and its sample. */
function randomSample(seed: number): PlainSample & { scenario: ReturnType<typeof randomScenario> } {
  const scenario = randomScenario({ n: 6, seed, gain: 0.8, tol: 1e-9 });
  return {
    scenario,
    model: { ...scenario.model, Q: undefined },
    k: 2,
    x: scenario.x,
    target: scenario.target as number[],
  };
}

/** Figure 1's network: two tanh units, the second is the output (readout `units`). */
const FIGURE_1: PlainSample = {
  model: {
    activation: 'tanh',
    readout: 'units',
    W: [
      [0.3, -0.6],
      [0.7, 0.2],
    ],
    U: [[0.9], [-0.4]],
    b: [0.1, -0.2],
  },
  k: 1,
  x: [1],
  target: [0.6],
  ctrl: { tauU: 10 },
};

const tensorsBefore = () => tf.memory().numTensors;

describe('the α sweep', () => {
  for (const [name, sample] of [
    ['separate readout, n = 6', randomSample(5)],
    ['readout units (Figure 1)', FIGURE_1],
  ] as const) {
    it(`${name}: cosine and norm ratio → 1 as α grows, output error → 0 as α → 0`, () => {
      const input = inputOf(sample);
      const before = tensorsBefore();
      const r = drain(alphaSweepSliced(input));
      expect(tf.memory().numTensors).toBe(before);
      disposeAll(input);
      const pts = r.points;
      expect(pts.length).toBe(19);
      expect(pts.every((p) => p.settled)).toBe(true);
      const last = pts[pts.length - 1];
      expect(last.alpha).toBeCloseTo(1000, 6);
      expect(1 - last.cosine).toBeLessThan(1e-2);
      expect(Math.abs(last.normRatio - 1)).toBeLessThan(1e-2);
      // Over the top two decades both approach 1 monotonically (the error falls like 1/α).
      const top = pts.filter((p) => p.alpha >= 10);
      for (let i = 1; i < top.length; i++) {
        expect(1 - top[i].cosine).toBeLessThanOrEqual(1 - top[i - 1].cosine + 1e-6);
        expect(Math.abs(top[i].normRatio - 1)).toBeLessThan(Math.abs(top[i - 1].normRatio - 1));
      }
      // Strong control: the output error ratio shrinks with α, to a few 1e-3 at α = 1e-3.
      const bottom = pts.filter((p) => p.alpha <= 1);
      for (let i = 1; i < bottom.length; i++)
        expect(bottom[i].outputError).toBeGreaterThan(bottom[i - 1].outputError);
      expect(pts[0].outputError).toBeLessThan(5e-3);
      // The integrator's Euler step never exceeds the sweep's rate.
      for (const p of pts)
        expect((input.solver.dt * p.alpha) / p.tauU).toBeLessThanOrEqual(0.1 + 1e-12);
    });
  }

  it('a diverging α is a point marked not settled, not an exception', () => {
    // dt = 1 and α such that the leaky integrator alone is unstable: a τ_u that the sweep's rule
    // would never choose, forced through alphaPointSliced.
    const input = inputOf({ ...randomSample(7), dt: 1 });
    const base = drain(freeAndGradientSliced(input));
    const p = drain(
      alphaPointSliced(input, base, { ...input.ctrl, alpha: 100, tauU: 1 }, input.solver),
    );
    disposeFree(base);
    disposeAll(input);
    expect(p.diverged).toBe(true);
    expect(p.settled).toBe(false);
    expect(p.cosine).toBeNaN();
  });

  it('stopped between slices, it frees every tensor it made', () => {
    const input = inputOf(randomSample(8));
    const before = tensorsBefore();
    const work = alphaSweepSliced(input);
    for (let i = 0; i < 5; i++) work.next();
    work.return(undefined as never);
    expect(tf.memory().numTensors).toBe(before);
    disposeAll(input);
  });

  it('at α = 1000 the scaled LCP direction matches central finite differences of L', async () => {
    const sample = randomSample(11);
    const input = inputOf(sample);
    const base = drain(freeAndGradientSliced(input));
    const alpha = 1000;
    const point = drain(
      alphaPointSliced(
        input,
        base,
        { ...input.ctrl, alpha, tauU: sweepTauU(input.ctrl, input.solver.dt, alpha) },
        input.solver,
        true,
      ),
    );
    disposeFree(base);
    disposeAll(input);
    expect(gradientScale(alpha, 1, 0)).toBe(alpha);
    const dir = point.direction!;
    // −∂L/∂θ by central differences of the engine's free loss (the CLI's solve), entry by entry.
    const s = sample.scenario;
    const h = 1e-2;
    const fd: number[] = [];
    const lcp: number[] = [];
    const lossWith = async (name: string, i: number, j: number, delta: number) => {
      const model = structuredClone(s.model) as unknown as Record<string, number[] | number[][]>;
      const p = model[name];
      if (Array.isArray(p[0])) (p as number[][])[i][j] += delta;
      else (p as number[])[i] += delta;
      return (await solve({ ...s, model })).free.loss;
    };
    for (const name of NETWORK_PARAMS) {
      const rows = s.model[name].length;
      const first = s.model[name][0];
      const cols = Array.isArray(first) ? first.length : 1;
      for (let i = 0; i < rows; i++)
        for (let j = 0; j < cols; j++) {
          fd.push(-((await lossWith(name, i, j, h)) - (await lossWith(name, i, j, -h))) / (2 * h));
          lcp.push(dir[name][i * cols + j]);
        }
    }
    const dot = fd.reduce((a, v, q) => a + v * lcp[q], 0);
    const nf = Math.hypot(...fd);
    const nl = Math.hypot(...lcp);
    expect(dot / (nf * nl)).toBeGreaterThan(0.999);
    expect(Math.abs(nl / nf - 1)).toBeLessThan(1e-2);
    // The point's own numbers (against RBP) agree with the finite-difference ones.
    expect(Math.abs(point.cosine - dot / (nf * nl))).toBeLessThan(1e-3);
    expect(Math.abs(point.normRatio - nl / nf)).toBeLessThan(1e-2);
  });
});
