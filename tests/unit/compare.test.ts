/**
 * Compare mode's engine (engine/compare.ts): every method starts from the same weights and sees
 * the same batches, the curves are reproducible, interleaving changes no method's numbers (each
 * equals the method trained alone, and LCP-DI equals the CLI trainer's epoch batch for batch),
 * RBP's update is the gradient (cosine 1) and LCP-DI's tends to it at large α.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig, type TrainConfig } from '../../src/engine/config';
import { compareSliced, Comparison, type CompareResult } from '../../src/engine/compare';
import {
  methodConfig,
  unavailableMethods,
  type CompareMethod,
} from '../../src/engine/compareMethods';
import { seededStreams } from '../../src/engine/rng';
import { drain } from '../../src/engine/sliced';
import { createDataset, type Dataset } from '../../src/engine/tasks';
import { makeTrainer } from '../support/trainer';

/** A small layered circle net: a few milliseconds per update. */
const LAYERED: Partial<TrainConfig> = {
  task: 'circle',
  trainSize: 48,
  testSize: 24,
  topology: 'layered',
  layers: [6],
  alpha: 2,
  tauU: 50,
  dt: 1,
  tol: 1e-5,
  maxSteps: 1000,
  optimizer: 'adam',
  lr: 0.02,
  batch: 16,
  noiseSteps: 60,
  seed: 7,
};

const RECURRENT: Partial<TrainConfig> = {
  task: 'pattern',
  inputs: 2,
  outputs: 2,
  trainSize: 8,
  testSize: 4,
  topology: 'recurrent',
  hidden: 5,
  gain: 0.6,
  dt: 0.5,
  tol: 1e-7,
  rbpTol: 1e-7,
  maxSteps: 20000,
  rbpMaxSteps: 20000,
  optimizer: 'sgd',
  lr: 0.05,
  batch: 4,
  seed: 3,
};

function setup(partial: Partial<TrainConfig>): { base: TrainConfig; data: Dataset } {
  const base = parseConfig(partial);
  return { base, data: createDataset(base, seededStreams(base.seed).stream('data')) };
}

function run(partial: Partial<TrainConfig>, methods: CompareMethod[], updates: number) {
  const { base, data } = setup(partial);
  return drain(compareSliced(base, data, { methods, updates }));
}

const pointsOf = (r: CompareResult, m: CompareMethod) =>
  r.series.find((s) => s.method === m)!.points;

describe('compare mode', () => {
  it('starts every method from the network a single run of the seed draws', () => {
    const { base, data } = setup(LAYERED);
    const methods: CompareMethod[] = ['lcp-di', 'lcp-kp', 'lcp-lf', 'lcp-ebd', 'bp'];
    const c = drain(Comparison.create(base, data, methods));
    const alone = makeTrainer(LAYERED);
    try {
      for (const name of ['W', 'U', 'D', 'b', 'd'] as const) {
        const want = Array.from(alone.net.params[name].dataSync());
        for (const r of c.runs)
          expect(
            Array.from(r.trainer.net.params[name].dataSync()),
            `${r.series.method} ${name}`,
          ).toEqual(want);
      }
      expect(c.runs.map((r) => r.trainer.config.controller)).toEqual([
        'dynamic-inversion',
        'dynamic-inversion-kp',
        'linear-feedback',
        'energy',
        'dynamic-inversion',
      ]);
      expect(c.runs[4].trainer.config.method).toBe('rbp');
    } finally {
      c.dispose();
      alone.dispose();
    }
  });

  it('is deterministic, and interleaving changes no method’s numbers', () => {
    const methods: CompareMethod[] = ['lcp-di', 'lcp-lf-learned', 'bp'];
    const together = run(LAYERED, methods, 4);
    expect(run(LAYERED, methods, 4)).toEqual(together);
    for (const m of methods) {
      const alone = run(LAYERED, [m], 4);
      expect(pointsOf(together, m)).toEqual(pointsOf(alone, m));
      expect(pointsOf(together, m)).toHaveLength(4);
    }
    // The methods do differ (the test above could not pass by all curves being one).
    expect(pointsOf(together, 'lcp-di')[3].loss).not.toBe(pointsOf(together, 'bp')[3].loss);
  });

  it('trains LCP-DI batch for batch as the CLI trainer does, with a test evaluation per epoch', () => {
    const trainer = makeTrainer(LAYERED);
    const losses: number[] = [];
    let epoch;
    try {
      epoch = trainer.trainEpoch((_d, _t, r) => losses.push(r.loss));
    } finally {
      trainer.dispose();
    }
    const points = pointsOf(run(LAYERED, ['lcp-di'], losses.length), 'lcp-di');
    expect(points.map((p) => p.loss)).toEqual(losses);
    const last = points[points.length - 1];
    expect(last.epoch).toBe(1);
    expect(last.testLoss).toBeCloseTo(epoch.testLoss, 6);
    expect(points.slice(0, -1).every((p) => p.testLoss === undefined)).toBe(true);
  });

  it('RBP’s and BP’s updates are the gradient; LCP-DI’s approaches it at large α only', () => {
    const rbp = pointsOf(run(RECURRENT, ['rbp'], 3), 'rbp');
    expect(rbp.map((p) => p.cosine)).toEqual([1, 1, 1]);
    expect(rbp.every((p) => p.control === 0)).toBe(true);
    const bp = pointsOf(run(LAYERED, ['bp'], 2), 'bp');
    expect(bp.map((p) => p.cosine)).toEqual([1, 1]);
    // Weak control (α large, τ_u with it so that dt·α/τ_u stays small): ΔW → −∇L (up to scale).
    const weak = pointsOf(run({ ...RECURRENT, alpha: 100, tauU: 2000 }, ['lcp-di'], 3), 'lcp-di');
    for (const p of weak) expect(p.cosine).toBeGreaterThan(0.99999);
    for (const p of weak) expect(p.control).toBeGreaterThan(0);
    // Strong control is a different update: the check above can fail.
    const strong = pointsOf(run({ ...RECURRENT, alpha: 0.01, tauU: 20 }, ['lcp-di'], 1), 'lcp-di');
    expect(strong[0].cosine).toBeLessThan(0.9999);
  });

  it('says which methods a network cannot train, and why', () => {
    const layered = parseConfig(LAYERED);
    const recurrent = parseConfig(RECURRENT);
    expect(unavailableMethods(layered)).toEqual({ rbp: expect.stringContaining('BP') });
    expect(Object.keys(unavailableMethods(recurrent))).toEqual(['bp']);
    const r = methodConfig({ ...layered, alpha: 0 }, 'lcp-ebd');
    expect('reason' in r && r.reason).toMatch(/alpha.*energy/);
    expect(() => run(LAYERED, ['rbp'], 1)).toThrow(/layered/);
    expect(() => run(LAYERED, [], 1)).toThrow(/at least one/);
    expect(() => run(LAYERED, ['bp'], 0)).toThrow(/whole number from 1/);
    expect(() => run(LAYERED, ['bp'], 1.5)).toThrow(/whole number from 1/);
    expect(() => run(LAYERED, ['bp'], 1e6)).toThrow(/whole number from 1/);
    expect(() => run(LAYERED, ['sgd' as CompareMethod], 1)).toThrow(/unknown method/);
  });
});
