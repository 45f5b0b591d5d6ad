import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  applyOverrides,
  CONFIG_KEYS,
  configDiff,
  crossFieldIssues,
  defaultConfig,
  estimateSize,
  fieldIssues,
  FIELDS,
  FLOAT32_EPSILON,
  FLOAT32_MAX,
  INPUT_LIMIT,
  parseConfig,
  ruleIssues,
  taskSizes,
  TASKS,
  TOL_MIN,
  type ConfigKey,
  type TrainConfig,
} from '../../src/engine/config';
import { InputError } from '../../src/engine/errors';
import { BLOWUP_RMS } from '../../src/engine/kernels/spec';
import { PRESETS } from '../../src/engine/presets';
import { seededStreams } from '../../src/engine/rng';
import { createDataset } from '../../src/engine/tasks';
import { loadMnistNode } from '../../src/engine/tasks/loadMnistNode';

describe('configuration schema', () => {
  it('every field has a type, range or options, default, unit, symbol and description; defaults are valid', () => {
    for (const key of CONFIG_KEYS) {
      const f = FIELDS[key];
      expect(f.description.length, key).toBeGreaterThan(10);
      expect(f.symbol.length, key).toBeGreaterThan(0);
      expect(typeof f.unit, key).toBe('string');
      if (f.type === 'number' || f.type === 'integer') {
        expect(f.min, key).toBeLessThanOrEqual(f.default);
        expect(f.default, key).toBeLessThanOrEqual(f.max);
      }
      if (f.type === 'enum') expect(f.options, key).toContain(f.default);
    }
    expect(parseConfig(defaultConfig())).toEqual(defaultConfig());
  });

  it('round-trips through JSON and through key=value overrides', () => {
    const config = {
      ...defaultConfig(),
      alpha: 0.25,
      layers: [32, 8],
      learnQ: true,
      task: 'xor' as const,
      seed: 9,
    };
    expect(parseConfig(JSON.parse(JSON.stringify(config)))).toEqual(config);
    const diff = configDiff(config);
    expect(Object.keys(diff).sort()).toEqual(['alpha', 'layers', 'learnQ', 'seed', 'task']);
    const text = Object.entries(diff).map(
      ([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`,
    );
    expect(applyOverrides(defaultConfig(), text)).toEqual(config);
  });

  it('every preset is a valid configuration', () => {
    for (const [name, preset] of Object.entries(PRESETS))
      expect(() => parseConfig(preset.config), name).not.toThrow();
  });

  it('names every bad field at once', () => {
    let error: unknown;
    try {
      parseConfig({ alpha: -1, batch: 2.5, controller: 'magic', epochs: 3 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InputError);
    const fields = (error as InputError).issues.map((i) => i.field).sort();
    expect(fields).toEqual(['alpha', 'batch', 'controller']);
    expect((error as InputError).message).toMatch(/alpha: must be ≥ 0/);
  });

  it('reports unknown keys, malformed overrides and bad values together', () => {
    expect(() =>
      applyOverrides(defaultConfig(), ['epochs=1', 'alpah=2', 'dt=-1', 'nonsense']),
    ).toThrow(/alpah: unknown field; nonsense: expected key=value; dt: must be > 0/);
    expect(() => parseConfig({ tauPsi: 0 })).toThrow(/tauPsi: must be > 0/);
    expect(() => parseConfig({ layers: [] })).toThrow(/layers/);
    expect(() => applyOverrides(defaultConfig(), ['learnQ=maybe'])).toThrow(/learnQ/);
  });
});

describe('cross-field rules (parseConfig)', () => {
  const refusal = (overrides: Partial<TrainConfig>): string => {
    try {
      parseConfig({ ...defaultConfig(), ...overrides });
    } catch (e) {
      expect(e).toBeInstanceOf(InputError);
      return (e as InputError).message;
    }
    return '';
  };

  it('accepts the defaults and every preset, and the boundary cases of each rule', () => {
    expect(ruleIssues(defaultConfig())).toEqual([]);
    for (const [name, preset] of Object.entries(PRESETS))
      expect(ruleIssues(parseConfig(preset.config)), name).toEqual([]);
    expect(refusal({ dt: FLOAT32_EPSILON, tauPhi: 1, tauY: 1, tauU: 1, tauPsi: 1 })).toBe('');
    expect(refusal({ tol: TOL_MIN, rbpTol: TOL_MIN })).toBe('');
    expect(refusal({ ki: 0, kp: 0.5 })).toBe('');
    expect(refusal({ ki: 0, kp: 0, method: 'rbp' })).toBe('');
    expect(refusal({ ki: 0, kp: 0, method: 'ep' })).toBe('');
    expect(refusal({ method: 'ep', readout: 'units' })).toMatch(/^method, readout: EP nudges/);
    expect(refusal({ controller: 'energy', alpha: 1e-3, ki: 0.1 })).toBe('');
  });

  it('refuses each Euler step float32 cannot resolve, naming dt and the time constants', () => {
    expect(refusal({ dt: 1e-300 })).toMatch(
      /^dt, tauPhi, tauY, tauU, tauPsi: dt\/τ = 1e-300 \(τ_φ, τ_y, τ_u, τ_ψ\) is below float32 resolution/,
    );
    expect(refusal({ dt: 1e-3, tauU: 1e5 })).toMatch(/^dt, tauU: dt\/τ = 1e-8 \(τ_u\)/);
    expect(refusal({ dt: 1e-4, tauPhi: 2000, tauPsi: 1e4 })).toMatch(
      /^dt, tauPhi, tauPsi: dt\/τ_φ = 5e-8, dt\/τ_ψ = 1e-8 are below/,
    );
    expect(
      refusal({ controller: 'linear-feedback', learnQ: true, noiseTimeScale: 100, tauU: 1e4 }),
    ).toMatch(/^noiseTimeScale, dt, tauU: the noisy phase's dt\/\(s²·τ_u\) = 2e-9 is below/);
    // Without Q learning the noisy phase does not run.
    expect(refusal({ controller: 'linear-feedback', noiseTimeScale: 100, tauU: 1e4 })).toBe('');
  });

  it('refuses tolerances below what a float32 residual resolves', () => {
    expect(refusal({ tol: 1e-40 })).toMatch(/^tol: 1e-40 is below the smallest normal float32/);
    // "Until frozen": tolerances the engine's own tests use.
    expect(refusal({ tol: 1e-10, rbpTol: 1e-12 })).toBe('');
    expect(refusal({ rbpTol: 1e-300 })).toMatch(/^rbpTol: 1e-300 is below/);
  });

  it('refuses gains that give no control and energy without α or k_i', () => {
    expect(refusal({ ki: 0, kp: 0 })).toMatch(/^ki, kp: k_i = 0 and k_p = 0 give no control/);
    expect(refusal({ controller: 'energy', ki: 0 })).toMatch(/^ki: must be > 0 for energy/);
    expect(refusal({ controller: 'energy', alpha: 0 })).toMatch(/^alpha: must be > 0 for energy/);
    expect(refusal({ controller: 'energy', alpha: 0, method: 'rbp' })).toMatch(/^alpha:/);
  });

  it('refuses output units that do not exist (readout: units)', () => {
    expect(refusal({ readout: 'units', task: 'mnist', hidden: 8 })).toMatch(
      /^readout: units puts the 10 outputs on the last 10 units, but there are only 8/,
    );
    expect(
      refusal({ readout: 'units', topology: 'layered', layers: [16, 1], task: 'circle' }),
    ).toMatch(/last 2 units of the last layer, but there are only 1/);
    expect(refusal({ readout: 'units', task: 'mnist', hidden: 10 })).toBe('');
  });

  it('bounds the total size: 2²⁵ weights and 3 GiB, naming the field and the bound', () => {
    const mnist = parseConfig(PRESETS['mnist-rnn-lcp-di'].config);
    expect(() => parseConfig({ hidden: 4096 }, mnist)).not.toThrow();
    expect(() =>
      parseConfig({ topology: 'layered', layers: new Array(8).fill(4096) }, mnist),
    ).toThrow(/^layers: 8 × 4096 units need 1\.1e9 weights; at most 3\.4e7 \(2²⁵\)$/);
    expect(() => parseConfig({ topology: 'layered', layers: [3000, 3000] }, mnist)).toThrow(
      /^layers: 2 × 3000 units need 4\.1e7 weights/,
    );
    expect(() => parseConfig({ topology: 'layered', layers: [1000, 2000, 2500] }, mnist)).toThrow(
      /^layers: 3 layers of 5500 units in all need/,
    );
    expect(() => parseConfig({ hidden: 4096, controller: 'dynamic-inversion-kp' }, mnist)).toThrow(
      /^hidden: 4096 units with dynamic-inversion-kp's B and F need 3\.7e7 weights/,
    );
    // 4096 units, 1024 inputs and 4096-sample batches: the memory bound.
    const wide = { task: 'teacher', inputs: 1024, outputs: 64, hidden: 4096 } as const;
    expect(() => parseConfig({ ...wide, batch: 1024 })).not.toThrow();
    expect(() => parseConfig({ ...wide, batch: 4096 })).toThrow(
      /^hidden: needs about 3\.\d+ GiB \(4096 units: weights and their working copies 1\.\d+ GiB, batch states 1\.\d+ GiB, data \d+ MiB\); at most 3 GiB$/,
    );
    expect(() => parseConfig({ layers: new Array(33).fill(2) })).toThrow(
      /^layers: at most 32 entries, got 33$/,
    );
  });

  it('estimateSize counts the weights each configuration implies', () => {
    const n = 10;
    const base = { ...defaultConfig(), hidden: n, task: 'pattern' as const, inputs: 3, outputs: 2 };
    const dense = n * n + n * 3 + n + 2 * n + 2;
    expect(estimateSize(base)).toMatchObject({ units: n, inputs: 3, outputs: 2, weights: dense });
    expect(estimateSize({ ...base, controller: 'linear-feedback' }).weights).toBe(dense + n * 2);
    expect(estimateSize({ ...base, controller: 'dynamic-inversion-kp' }).weights).toBe(
      dense + n * n + n * 2,
    );
    expect(estimateSize({ ...base, readout: 'units' }).weights).toBe(n * n + n * 3 + n);
    // The data set, and a copy of the samples `limit` keeps.
    const data = { ...base, task: 'teacher' as const, trainSize: 1000, testSize: 500 };
    expect(estimateSize(data).parts.data).toBe(4 * 1500 * 5);
    expect(estimateSize({ ...data, limit: 100 }).parts.data).toBe(4 * 1600 * 5);
    expect(estimateSize({ ...data, limit: 5000 }).parts.data).toBe(4 * 1500 * 5);
    const layered = estimateSize({ ...base, topology: 'layered', layers: [4, 6] });
    expect(layered.units).toBe(10);
    expect(layered.parts.masks).toBeGreaterThan(0);
    expect(estimateSize({ ...base, task: 'mnist' })).toMatchObject({ inputs: 784, outputs: 10 });
    expect(estimateSize({ ...base, task: 'xor' })).toMatchObject({ inputs: 2, outputs: 2 });
    const big = estimateSize({ ...base, hidden: 4096, task: 'mnist' });
    // ≈ 100 bytes per weight measured (peak RSS of training steps in Node, Adam).
    expect(big.bytes / big.weights).toBeGreaterThan(90);
    expect(big.bytes / big.weights).toBeLessThan(120);
    expect(estimateSize({ ...base, optimizer: 'sgd' }).parts.weights).toBeLessThan(
      estimateSize({ ...base, optimizer: 'adam' }).parts.weights,
    );
  });

  it("taskSizes agrees with each task's data set", async () => {
    const mnist = await loadMnistNode();
    for (const task of TASKS) {
      const config = { ...defaultConfig(), task, inputs: 5, outputs: 3, trainSize: 4, testSize: 4 };
      const data = createDataset(config, seededStreams(1).stream('data'), mnist);
      expect(taskSizes(config), task).toEqual({ m: data.m, k: data.k, loss: data.loss });
    }
  });

  it('fieldIssues explains one field: its own range, then every rule that names it', () => {
    const config = { ...defaultConfig(), dt: 1e-9 };
    expect(fieldIssues(config, 'dt')).toEqual([expect.stringMatching(/^dt, tauPhi.*float32/)]);
    expect(fieldIssues(config, 'tauU')).toHaveLength(1);
    expect(fieldIssues(config, 'alpha')).toEqual([]);
    expect(fieldIssues({ ...defaultConfig(), dt: -1 }, 'dt')).toEqual(['must be > 0']);
    expect(fieldIssues({ ...defaultConfig(), ki: 0, kp: 0 }, 'kp')).toEqual([
      expect.stringMatching(/^ki, kp: k_i = 0 and k_p = 0/),
    ]);
    const big = {
      ...defaultConfig(),
      task: 'teacher' as const,
      inputs: 1024,
      outputs: 64,
      hidden: 4096,
      batch: 4096,
    };
    expect(fieldIssues(big, 'batch')).toHaveLength(1);
    expect(fieldIssues(big, 'hidden')).toHaveLength(1);
    expect(fieldIssues(defaultConfig(), '__proto__' as ConfigKey)).toEqual(['unknown field']);
  });

  it('crossFieldIssues names every refusal at once', () => {
    const fields = crossFieldIssues({
      ...defaultConfig(),
      dt: 1e-300,
      ki: 0,
      kp: 0,
      tol: 1e-40,
    }).map((i) => i.field);
    expect(fields).toEqual(['dt, tauPhi, tauY, tauU, tauPsi', 'tol', 'ki, kp']);
  });

  it('INPUT_LIMIT keeps the first step below the divergence bound and within float32', () => {
    expect(INPUT_LIMIT).toBeLessThanOrEqual(BLOWUP_RMS);
    expect(INPUT_LIMIT ** 2).toBeLessThan(FLOAT32_MAX);
  });

  it('bounds error messages: 10⁶ bad layer sizes give the first 20 and a count', () => {
    let message = '';
    try {
      parseConfig({ layers: new Array(30).fill('x') });
    } catch (e) {
      message = (e as InputError).message;
    }
    expect(message).toMatch(/^layers\[0\]: expected an integer, got a string; /);
    expect(message).toMatch(
      /layers\[19\]: expected an integer, got a string; … and 10 more problems$/,
    );
    expect(() => parseConfig({ layers: new Array(1_000_000).fill(-1) })).toThrow(
      /^layers: at most 32 entries, got 1000000$/,
    );
  });

  it('refuses a document that is not an object, and prototype keys, by name', () => {
    for (const raw of [null, 42, [], true, 'x'])
      expect(() => parseConfig(raw)).toThrow(/^\(root\): expected a JSON object/);
    expect(() => parseConfig(JSON.parse('{"__proto__": {"epochs": 1}}'))).toThrow(
      /^__proto__: unknown field$/,
    );
    expect(() => applyOverrides(defaultConfig(), ['toString=1', 'hasOwnProperty=2'])).toThrow(
      /^toString: unknown field; hasOwnProperty: unknown field$/,
    );
  });
});

describe('config.ts stays a leaf', () => {
  it('imports nothing that loads TensorFlow.js (the page imports it on the main thread)', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const [, spec] of text.matchAll(/^import\s[^'"]*['"]([^'"]+)['"]/gm)) {
        expect(spec, `${file} imports ${spec}`).not.toMatch(/tensorflow|\/tf$/);
        if (spec.startsWith('.')) visit(resolve(dirname(file), spec) + '.ts');
      }
    };
    visit(resolve('src/engine/config.ts'));
    expect([...seen].map((f) => f.split('/').pop()).sort()).toEqual([
      'config.ts',
      'errors.ts',
      'kinds.ts',
      'validation.ts',
    ]);
  });
});

describe("the page's main thread", () => {
  it('loads no TensorFlow.js: only the engine worker does (imports, re-exports, dynamic imports)', () => {
    const seen = new Set<string>();
    const resolveModule = (from: string, spec: string): string => {
      const base = resolve(dirname(from), spec);
      for (const candidate of [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`])
        try {
          if (readFileSync(candidate) && /\.tsx?$/.test(candidate)) return candidate;
        } catch {
          // not this one
        }
      return base;
    };
    const visit = (file: string) => {
      if (seen.has(file) || !/\.tsx?$/.test(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      const specs = [
        // import … from / export … from (type-only ones load nothing), and import('…').
        ...[...text.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?from\s+['"]([^'"]+)['"]/gm)],
        ...[...text.matchAll(/^import\s+['"]([^'"]+)['"]/gm)],
        ...[...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)],
      ].map((m) => m[1]);
      for (const spec of specs) {
        expect(spec, `${file} loads ${spec}`).not.toMatch(/tensorflow|\/tf$/);
        if (spec.startsWith('.')) visit(resolveModule(file, spec));
      }
    };
    visit(resolve('src/boot.ts'));
    // The walk reached the app (not only its entry).
    expect(seen.size).toBeGreaterThan(40);
  });
});
