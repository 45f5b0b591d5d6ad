import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/engine/config';
import { InputError } from '../../src/engine/errors';
import { PRESETS } from '../../src/engine/presets';
import { drain } from '../../src/engine/sliced';
import { parseSweepAxis, planSweep, pointConfig } from '../../src/engine/sweep';
import {
  seededTrainer,
  sweepSliced,
  trainRunSliced,
  type SweepPoint,
} from '../../src/engine/sweepRun';
import { summarizeSweep } from '../../src/engine/sweepStats';

const circle = () =>
  parseConfig(
    { trainSize: 64, testSize: 32, batch: 32 },
    parseConfig(PRESETS['circle-lcp-di'].config),
  );

describe('sweep plans', () => {
  it('axes: a range or a list; lists keep their order, drop repeats, refuse non-numbers', () => {
    expect(parseSweepAxis('lr=0..1:5').values).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(parseSweepAxis('lr=0.3,0.1,0.3,2').values).toEqual([0.3, 0.1, 2]);
    expect(parseSweepAxis('hidden=2,3').values).toEqual([2, 3]);
    expect(() => parseSweepAxis('hidden=2.5')).toThrow(/integers/);
    expect(() => parseSweepAxis('lr=0.1,x')).toThrow(/numbers/);
    expect(() => parseSweepAxis('lr=')).toThrow(InputError);
    expect(() => parseSweepAxis('task=1,2')).toThrow(/numeric field/);
  });

  it('a grid is the first axis slowest; too many runs and equal axes are refused', () => {
    const plan = planSweep({ axes: ['lr=1,2', 'alpha=3,4,5'], seeds: 2, updates: 3 });
    expect(plan.cells).toEqual([
      [1, 3],
      [1, 4],
      [1, 5],
      [2, 3],
      [2, 4],
      [2, 5],
    ]);
    expect(() =>
      planSweep({ axes: ['lr=0..1:20', 'alpha=1..2:20'], seeds: 2, updates: 1 }),
    ).toThrow(/800 runs/);
    expect(() => planSweep({ axes: ['lr=1,2', 'lr=3'], seeds: 1, updates: 1 })).toThrow(/differ/);
    expect(() => planSweep({ axes: ['lr=1'], seeds: 0, updates: 1 })).toThrow(/seeds/);
    expect(() => planSweep({ axes: ['lr=1'], seeds: 1, updates: 0 })).toThrow(/updates/);
    expect(() => pointConfig(circle(), { dt: -1 }, 1)).toThrow(/at dt = -1/);
  });
});

describe('sweep runs', () => {
  it('N updates of one epoch measure what trainEpoch measures (same order, same seed)', () => {
    const config = circle();
    const run = drain(trainRunSliced(config, { updates: 2 }));
    expect(run.diverged).toBe(false);
    // The independent path: the trainer's own epoch over the same 64 samples in batches of 32.
    const trainer = seededTrainer(config);
    const epoch = trainer.trainEpoch();
    trainer.dispose();
    const m = run.metrics!;
    expect(m.loss).toBeCloseTo(epoch.loss, 6);
    expect(m.control).toBeCloseTo(epoch.control, 6);
    expect(m.steps).toBeCloseTo(epoch.steps, 6);
    expect(m.testLoss).toBeCloseTo(epoch.testLoss, 6);
    expect(m.testAccuracy).toBeCloseTo(epoch.testAccuracy!, 6);
    expect(m.cosine).toBeCloseTo(epoch.cosine, 6);
  });

  it('streams every cell on every seed; divergence and refused points are points with a reason', () => {
    const plan = planSweep({ axes: ['tauU=-1,0.5,50'], seeds: 2, updates: 1 });
    const points: SweepPoint[] = [];
    drain(sweepSliced(circle(), plan, (p) => points.push(p)));
    expect(points.map((p) => [p.cell, p.seed])).toEqual([
      [0, 1],
      [0, 2],
      [1, 1],
      [1, 2],
      [2, 1],
      [2, 2],
    ]);
    expect(points[0].status).toBe('failed');
    expect(points[0].reason).toMatch(/at tauU = -1/);
    expect(points[2].status).toBe('diverged');
    expect(points[2].reason).toMatch(/diverged/);
    expect(points[4].status).toBe('ok');
    // Two seeds, two different runs; each seed is the run trainRunSliced gives alone.
    expect(points[4].metrics!.loss).not.toBe(points[5].metrics!.loss);
    const alone = drain(
      trainRunSliced(parseConfig({ tauU: 50, seed: 2 }, circle()), { updates: 1 }),
    );
    expect(points[5].metrics!.testLoss).toBe(alone.metrics!.testLoss);
  });

  it('summaries: mean, sample sd, min–max over finite runs; the others counted with reasons', () => {
    const metrics = (loss: number) => ({
      loss,
      control: 0,
      steps: 0,
      testLoss: 0,
      testAccuracy: NaN,
      cosine: NaN,
    });
    const pts: SweepPoint[] = [
      { cell: 0, values: [1], seed: 1, status: 'ok', reason: null, metrics: metrics(1) },
      { cell: 0, values: [1], seed: 2, status: 'ok', reason: null, metrics: metrics(2) },
      { cell: 0, values: [1], seed: 3, status: 'ok', reason: null, metrics: metrics(6) },
      { cell: 1, values: [2], seed: 1, status: 'diverged', reason: 'boom', metrics: null },
    ];
    const [a, b, c] = summarizeSweep([[1], [2], [3]], pts, 'loss');
    // mean 3; deviations −2, −1, 3: Σ² = 14, sd = √(14/2) = √7.
    expect(a.mean).toBe(3);
    expect(a.sd).toBeCloseTo(Math.sqrt(7), 12);
    expect([a.min, a.max, a.n, a.runs]).toEqual([1, 6, 3, 3]);
    expect([b.n, b.runs, b.diverged, b.reasons]).toEqual([0, 1, 1, ['seed 1: boom']]);
    expect(Number.isNaN(b.mean)).toBe(true);
    expect(c.runs).toBe(0);
    // A metric that is NaN on every run (accuracy of a regression) gives no mean, not 0.
    expect(Number.isNaN(summarizeSweep([[1]], pts, 'cosine')[0].mean)).toBe(true);
  });
});
