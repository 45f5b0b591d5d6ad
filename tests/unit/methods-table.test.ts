import { describe, expect, it } from 'vitest';
import {
  failureNotes,
  meanSd,
  METHODS,
  parseRun,
  tableRow,
  TASKS,
  trainArgs,
} from '../../scripts/methods-table';
import { parseConfig, parseOverrides } from '../../src/engine/config';
import { PRESETS } from '../../src/engine/presets';

const line = (epoch: number, acc: number, seconds: number) =>
  JSON.stringify({
    epoch,
    testAccuracy: acc,
    cosine: 0.9,
    seconds,
    stepsFree: 3,
    stepsControlled: 100 + epoch,
  });

describe('scripts/methods-table', () => {
  it('reads the last epoch line of a run, and the reason of a run the CLI stopped', () => {
    const ok = parseRun(1, `${line(1, 0.5, 1)}\n${line(2, 0.75, 3)}\n`, '', 0);
    expect(ok).toEqual({ seed: 1, failure: null, last: JSON.parse(line(2, 0.75, 3)) });
    const stopped = parseRun(
      2,
      `${line(1, 0.5, 1)}\n`,
      'progress…\ndiverged: controlled dynamics diverged at step 1000\n',
      3,
    );
    expect(stopped.failure).toBe('diverged: controlled dynamics diverged at step 1000');
    expect(stopped.last?.epoch).toBe(1);
    expect(parseRun(3, '', '', 1).failure).toBe('exit code 1');
  });

  it('summarises with the sample standard deviation, over the finished seeds only', () => {
    expect(meanSd([1, 2, 3, 4])).toEqual({ mean: 2.5, sd: Math.sqrt(5 / 3) });
    expect(meanSd([7])).toEqual({ mean: 7, sd: 0 });
    const method = METHODS[0];
    const runs = [
      parseRun(1, line(10, 0.99, 20), '', 0),
      parseRun(2, line(10, 0.97, 30), '', 0),
      parseRun(3, line(4, 0.6, 8), 'diverged: x', 3),
    ];
    // accuracy 98 ± √2 (the sd of 99 and 97); seconds per epoch (2 + 3)/2; steps 110.
    expect(tableRow(method, runs)).toBe(
      `| ${method.name} ¹ | 98.00 % ± 1.41 (2 of 3) | 99.0, 97.0, — | 2.50 | 3.0 | 110.0 | 0.900 |`,
    );
    expect(tableRow(method, runs.slice(0, 1))).toMatch(/^\| \S+ \| 99\.00 % \| 99\.0 \|/);
    expect(failureNotes([{ method, runs }])).toEqual([
      `- ¹ ${method.name}, seed 3 (after epoch 4): \`diverged: x\``,
    ]);
  });

  it('runs every method as a valid configuration of every task preset', () => {
    for (const [task, preset] of Object.entries(TASKS)) {
      expect(Object.keys(PRESETS), task).toContain(preset);
      for (const method of METHODS) {
        const args = trainArgs(preset, method, 2);
        expect(args.slice(0, 6)).toEqual(['run', '--silent', 'lcp', '--', 'train', preset]);
        const { values, issues } = parseOverrides(args.slice(6));
        expect(issues).toEqual([]);
        expect(() => parseConfig({ ...PRESETS[preset].config, ...values })).not.toThrow();
      }
    }
  });
});
