import { describe, expect, it } from 'vitest';
import { defaultConfig, parseConfig } from '../../src/engine/config';
import { InputError } from '../../src/engine/errors';
import { PRESETS } from '../../src/engine/presets';
import { learningCsv, tracesCsv } from '../../src/state/csv';
import {
  checkpointOf,
  cliConfig,
  modelFile,
  readModelFile,
  weightsDifference,
} from '../../src/state/modelFile';
import type { Checkpoint } from '../../src/worker/protocol';

const checkpoint = (): Checkpoint => ({
  params: {
    W: { rows: 2, cols: 2, data: Float32Array.from([0.1, -0.2, 0.30000001192092896, 0.4]) },
    D: { rows: 1, cols: 2, data: Float32Array.from([1e-30, -7]) },
  },
  state: {
    phi: Float32Array.from([0.5, -0.25]),
    y: Float32Array.from([0.125]),
    uI: Float32Array.from([0]),
    psi: Float32Array.from([0, 0]),
  },
  sample: 3,
  t: 1.2,
  step: 6,
  control: true,
  updates: 2,
  epoch: 0,
});

describe('model files', () => {
  it('write and read back the same weights (float32 exact), configuration, log and counters', () => {
    const config = { ...parseConfig(PRESETS['figure-1'].config), seed: 41 };
    const file = modelFile({
      config,
      backend: 'wasm',
      chapter: 'local-rule',
      scene: 1,
      log: { continued: null, entries: [['s', 6], ['c', 1], ['l']] },
      checkpoint: checkpoint(),
    });
    const back = readModelFile(JSON.stringify(file));
    expect(back.config).toEqual(config);
    expect(back.log.entries).toEqual([['s', 6], ['c', 1], ['l']]);
    const cp = checkpointOf(back);
    expect(weightsDifference(cp.params, checkpoint().params)).toBe(0);
    expect(cp).toEqual(checkpoint());
  });

  it('refuse what is not a model, naming the problem', () => {
    const good = modelFile({
      config: defaultConfig(),
      backend: 'cpu',
      chapter: null,
      scene: 0,
      log: { continued: null, entries: [] },
      checkpoint: checkpoint(),
    });
    const bad = (mutate: (f: Record<string, unknown>) => void) => {
      const f = JSON.parse(JSON.stringify(good)) as Record<string, unknown>;
      mutate(f);
      return () => readModelFile(JSON.stringify(f));
    };
    expect(() => readModelFile('not json')).toThrow(InputError);
    expect(bad((f) => (f.format = 'other'))).toThrow(/format/);
    expect(bad((f) => ((f.weights as Record<string, { data: unknown[] }>).W.data = [1]))).toThrow(
      /rows × cols/,
    );
    expect(bad((f) => ((f.config as Record<string, unknown>).dt = -1))).toThrow(/dt/);
    expect(bad((f) => ((f.log as { entries: unknown[] }).entries = [['s', -1]]))).toThrow(/log/);
    expect(bad((f) => (f.weights = { X: { rows: 1, cols: 1, data: [1] } }))).toThrow(InputError);
  });

  it('weightsDifference: 0 only when equal, Infinity when shapes differ', () => {
    const a = checkpoint().params;
    const b = checkpoint().params;
    b.W!.data[3] = 0.5;
    expect(weightsDifference(a, b)).toBeCloseTo(0.1, 6);
    expect(weightsDifference(a, { W: a.W })).toBe(Infinity);
  });

  it('the CLI config holds the non-default fields and the seed, and no WebGL', () => {
    const text = cliConfig({ ...defaultConfig(), hidden: 5, backend: 'webgl' });
    const fields = JSON.parse(text) as Record<string, unknown>;
    expect(fields).toEqual({ seed: defaultConfig().seed, hidden: 5 });
    expect(parseConfig(fields).hidden).toBe(5);
  });
});

describe('CSV', () => {
  it('traces: a header and one exact line per sample', () => {
    const csv = tracesCsv([
      {
        t: 0.2,
        step: 1,
        phi: Float32Array.from([0.1, 0.2]),
        psi: Float32Array.from([0, NaN]),
        y: Float32Array.from([0.3]),
        u: Float32Array.from([0]),
        target: Float32Array.from([-0.5]),
      },
    ]);
    expect(csv).toBe(
      `step,t,phi0,phi1,psi0,psi1,y0,u0,target0\n1,0.2,${Math.fround(0.1)},${Math.fround(0.2)},0,,${Math.fround(0.3)},0,-0.5\n`,
    );
  });

  it('learning curves: empty cells for what was not measured', () => {
    const csv = learningCsv([
      {
        update: 1,
        epoch: 0,
        loss: 0.5,
        accuracy: null,
        control: 0.1,
        cosine: NaN,
        cosineReliable: true,
      },
    ]);
    expect(csv.split('\n')[1]).toBe('1,0,0.5,,0.1,,1,,,,');
  });
});
