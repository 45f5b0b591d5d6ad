import { describe, expect, it } from 'vitest';
import { parseSweepSpec } from '../../src/cli/sweep';
import { InputError } from '../../src/engine/errors';
import { cliInProcess } from '../support/cli';

const lines = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, number | boolean | null>);

describe('lcp sweep', () => {
  it('ranges: even, log, integer fields rounded; bad ranges refused by name', () => {
    expect(parseSweepSpec('lr=0..1:5').values).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(parseSweepSpec('alpha=1e-2..1e2:5:log').values).toEqual([0.01, 0.1, 1, 10, 100]);
    expect(parseSweepSpec('hidden=2..4:5').values).toEqual([2, 3, 4]);
    expect(() => parseSweepSpec('task=1..2')).toThrow(/numeric field/);
    expect(() => parseSweepSpec('alpha=0..1:log')).toThrow(/lo > 0/);
    expect(() => parseSweepSpec('nope=1..2')).toThrow(InputError);
    expect(() => parseSweepSpec('lr=a..b')).toThrow(/numbers/);
    expect(() => parseSweepSpec('lr=1..2:0')).toThrow(/count/);
  });

  it('the α limit: the update turns into −∇L as α grows, the output reaches t as α shrinks', async () => {
    const r = await cliInProcess(['sweep', 'alpha-limit', 'alpha=1e-3..1e3:7:log']);
    expect(r.code).toBe(0);
    const points = lines(r.stdout);
    expect(points.map((p) => p.alpha)).toEqual([1e-3, 1e-2, 0.1, 1, 10, 100, 1000]);
    const first = points[0];
    const last = points[points.length - 1];
    // DESIGN's claims, measured against the finite-difference-checked gradient of alphaSweep.
    expect(last.cosine as number).toBeGreaterThan(0.999);
    expect(Math.abs((last.normRatio as number) - 1)).toBeLessThan(1e-2);
    expect(first.outputError as number).toBeLessThan(1e-2);
    // Monotone in between: the cosine rises and the output error grows with α.
    for (let i = 1; i < points.length; i++) {
      expect(points[i].cosine as number).toBeGreaterThanOrEqual(
        (points[i - 1].cosine as number) - 1e-6,
      );
      expect(points[i].outputError as number).toBeGreaterThan(points[i - 1].outputError as number);
    }
  });

  it('another field trains each point on each seed, one line each', async () => {
    const r = await cliInProcess([
      'sweep',
      'circle-lcp-di',
      'lr=0.01..0.02:2',
      'epochs=1',
      'trainSize=200',
      'testSize=100',
      'seeds=2',
    ]);
    expect(r.code).toBe(0);
    const points = lines(r.stdout);
    expect(points.map((p) => [p.lr, p.seed])).toEqual([
      [0.01, 1],
      [0.02, 1],
      [0.01, 2],
      [0.02, 2],
    ]);
    for (const p of points) {
      expect(p.epoch).toBe(1);
      expect(p.diverged).toBe(false);
      expect(Number.isFinite(p.testAccuracy)).toBe(true);
    }
    // Different seeds, different runs.
    expect(points[0].testLoss).not.toBe(points[2].testLoss);
  });

  it('refuses a sweep without exactly one range, or with a point outside the schema', async () => {
    const none = await cliInProcess(['sweep', 'figure-1', 'lr=0.1']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/one range/);
    const bad = await cliInProcess(['sweep', 'figure-1', 'dt=-1..1:3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/at dt = -1/);
    expect(bad.stdout).toBe('');
  });
});
