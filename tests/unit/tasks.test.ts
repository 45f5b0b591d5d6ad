import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/engine/config';
import { seededStreams } from '../../src/engine/rng';
import { createDataset } from '../../src/engine/tasks';
import { PLANE_TASKS } from '../../src/engine/tasks/toy';

describe('tasks', () => {
  for (const task of PLANE_TASKS) {
    it(`${task}: balanced classes, inputs within the noisy extent, train ≠ test, seeded`, () => {
      const config = parseConfig({ task, trainSize: 400, testSize: 200, noise: 0.1, seed: 2 });
      const data = createDataset(config, seededStreams(2).stream('data'));
      expect(data.m).toBe(2);
      expect(data.train.count).toBe(400);
      const ones = data.train.labels!.reduce((s, v) => s + v, 0);
      expect(ones).toBe(200);
      const limit = task === 'gaussians' ? 3 : 1.1 + 1e-6;
      for (const v of data.train.x) expect(Math.abs(v)).toBeLessThanOrEqual(limit);
      expect(Array.from(data.test.x.subarray(0, 4))).not.toEqual(
        Array.from(data.train.x.subarray(0, 4)),
      );
      expect(createDataset(config, seededStreams(2).stream('data')).train.x).toEqual(data.train.x);
    });
  }

  it('circle: class 0 lies inside r ≤ 0.5 + noise, class 1 outside 0.7 − noise', () => {
    const data = createDataset(
      parseConfig({ task: 'circle', trainSize: 500, noise: 0.1 }),
      seededStreams(1).stream('data'),
    );
    for (let i = 0; i < 500; i++) {
      const r = Math.hypot(data.train.x[2 * i], data.train.x[2 * i + 1]);
      if (data.train.labels![i] === 0) expect(r).toBeLessThanOrEqual(0.5 + 0.1 * Math.SQRT2 + 1e-6);
      else expect(r).toBeGreaterThanOrEqual(0.7 - 0.1 * Math.SQRT2 - 1e-6);
    }
  });

  it('limit keeps N training samples after a seeded shuffle; teacher targets follow the teacher', () => {
    const config = parseConfig({
      task: 'teacher',
      inputs: 3,
      outputs: 2,
      trainSize: 100,
      testSize: 20,
      limit: 10,
    });
    const a = createDataset(config, seededStreams(5).stream('data'));
    expect(a.train.count).toBe(10);
    expect(a.loss).toBe('mse');
    const b = createDataset(config, seededStreams(6).stream('data'));
    expect(b.train.x).not.toEqual(a.train.x);
  });
});
